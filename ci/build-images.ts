/**
 * Build and push our images whose folders changed in this pipeline, tagged with the commit SHA,
 * and record their digests for the scan and pin jobs.
 * Usage (images:build job): npx tsx ci/build-images.ts --out images.json --list images.txt
 *   images.json: [{ name, ref, pin }] (see BuiltImage); images.txt: "<name> <ref>" per line, for Trivy.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { requireEnv } from "./lib/ci-env";
import { type BuiltImage, discoverOwnImages, imagesToBuild } from "./lib/own-images";
import { builtImage, changeBase } from "./lib/registry";

const REPO_ROOT = path.resolve(__dirname, "..");

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** Files changed since `base`, or "unknown" (first push, shallow clone without the base): then build all. */
function changedFiles(base: string | undefined): string[] | "unknown" {
  if (!base) return "unknown";
  try {
    return run("git", ["diff", "--name-only", base, "HEAD"]).split("\n").filter(Boolean);
  } catch {
    return "unknown";
  }
}

function main(): void {
  const { values } = parseArgs({
    options: { out: { type: "string", default: "images.json" }, list: { type: "string", default: "images.txt" } },
  });
  const env = requireEnv(["CI_REGISTRY_IMAGE", "CI_COMMIT_SHA"]);
  const images = imagesToBuild(discoverOwnImages(REPO_ROOT), changedFiles(changeBase(process.env)));

  const built: BuiltImage[] = [];
  for (const image of images) {
    const repository = `${env.CI_REGISTRY_IMAGE}/${image.name}`;
    const tagged = `${repository}:${env.CI_COMMIT_SHA}`;
    console.log(`== ${image.name}: building ${image.context}`);
    execFileSync("docker", ["build", "--pull", "--tag", tagged, image.context], { cwd: REPO_ROOT, stdio: "inherit" });
    execFileSync("docker", ["push", tagged], { cwd: REPO_ROOT, stdio: "inherit" });
    const repoDigests = JSON.parse(run("docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", tagged])) as string[];
    built.push(builtImage(image.name, repository, env.CI_COMMIT_SHA, repoDigests));
  }

  writeFileSync(values.out, `${JSON.stringify(built, null, 2)}\n`);
  writeFileSync(values.list, built.map((image) => `${image.name} ${image.ref}\n`).join(""));
  console.log(built.length > 0 ? built.map((image) => `${image.name}: ${image.pin}`).join("\n") : "no image folder changed");
}

main();
