/**
 * Point the stacks at new builds of our images: rewrites infra:images.pins in every
 * stacks/Pulumi.<host>.yaml that already pins that image (local builds its images and is left alone).
 * CI moves existing pins (ci/open-pin-mr.ts); the first pin of an image on a host is added by hand with --add.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import type { BuiltImage } from "./lib/own-images";
import { pinChanges, pinsOf } from "./lib/stack-files";

const REPO_ROOT = path.resolve(__dirname, "..");
const PIN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}@sha256:[a-f0-9]{64}$/;

const program = new Command("pin-image")
  .description("Rewrite the image pins (infra:images.pins) of the stack files")
  .argument("[pins...]", "NAME=<tag>@sha256:<digest>, e.g. ldap=1a2b3c4d@sha256:<64 hex>")
  .option("--images <file>", "the images.json that ci/build-images.ts writes, instead of NAME=PIN arguments")
  .option("--add", "add the pin where the image is not pinned yet (first deployment of an image on a host)", false)
  .option("--stack <host>", "only this stack; repeat for several (required with --add)", (host: string, hosts: string[] = []) => [
    ...hosts,
    host,
  ])
  .showHelpAfterError()
  .action((args: string[], options: { images?: string; add: boolean; stack?: string[] }) => {
    if (options.add && !options.stack) program.error("--add needs --stack HOST: say which host runs the new image", { exitCode: 2 });
    const pins = options.images ? pinsOf(JSON.parse(readFileSync(options.images, "utf8")) as BuiltImage[]) : pinsFromArgs(args);
    if (Object.keys(pins).length === 0) program.error("nothing to pin: pass NAME=PIN arguments or --images images.json", { exitCode: 2 });

    const changes = pinChanges(REPO_ROOT, pins, { add: options.add, stacks: options.stack });
    for (const change of changes) {
      writeFileSync(path.join(REPO_ROOT, change.file), change.text);
      console.log(`${change.file}: ${change.updated.join(", ")}`);
    }
    if (changes.length === 0) console.log("no stack pins a changed image (or the pins are already current)");
  });

function pinsFromArgs(args: string[]): Record<string, string> {
  return Object.fromEntries(
    args.map((arg) => {
      const [name, pin] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
      if (!name || !PIN.test(pin)) program.error(`pins: expected NAME=<tag>@sha256:<64 hex digits>, got "${arg}"`, { exitCode: 2 });
      return [name, pin];
    }),
  );
}

program.parse();
