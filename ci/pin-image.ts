/**
 * Point the stacks at new builds of our images: rewrites infra:images.pins in every
 * stacks/Pulumi.<host>.yaml that already pins that image (local builds its images and is left alone).
 * Usage: npx tsx ci/pin-image.ts ldap=<commit>@sha256:<digest> [mail-postfix=...]
 *        npx tsx ci/pin-image.ts --images images.json      (the file ci/build-images.ts writes)
 *        npx tsx ci/pin-image.ts --add --stack pica02 mail-rspamd=<commit>@sha256:<digest>
 *          (first pin of an image on a host; afterwards CI moves it)
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { BuiltImage } from "./lib/own-images";
import { pinChanges, pinsOf } from "./lib/stack-files";

const REPO_ROOT = path.resolve(__dirname, "..");

function pinsFromArgs(args: string[]): Record<string, string> {
  return Object.fromEntries(
    args.map((arg) => {
      const at = arg.indexOf("=");
      if (at <= 0) throw new Error(`expected NAME=<tag>@sha256:<digest>, got "${arg}"`);
      return [arg.slice(0, at), arg.slice(at + 1)];
    }),
  );
}

const { values, positionals } = parseArgs({
  options: { images: { type: "string" }, add: { type: "boolean", default: false }, stack: { type: "string", multiple: true } },
  allowPositionals: true,
});
if (values.add && !values.stack) {
  console.error("--add needs --stack HOST: say which host runs the new image");
  process.exit(2);
}
const pins = values.images
  ? pinsOf(JSON.parse(readFileSync(values.images, "utf8")) as BuiltImage[])
  : pinsFromArgs(positionals);
if (Object.keys(pins).length === 0) {
  console.error("nothing to pin: pass NAME=PIN arguments or --images images.json");
  process.exit(2);
}

const changes = pinChanges(REPO_ROOT, pins, { add: values.add, stacks: values.stack });
for (const change of changes) {
  writeFileSync(path.join(REPO_ROOT, change.file), change.text);
  console.log(`${change.file}: ${change.updated.join(", ")}`);
}
if (changes.length === 0) console.log("no stack pins a changed image (or the pins are already current)");
