/**
 * Build and push our images whose folders changed in this pipeline, tagged with the commit SHA,
 * and record their digests for the scan and pin jobs.
 * Usage (images:build job): npx tsx ci/build-images.ts --pull --out images.json --list images.txt
 *   images.json: [{ name, ref, pin }] (see BuiltImage); images.txt: "<name> <ref>" per line, for Trivy.
 * Options:
 *   --pull         pull a newer base image before building (the CI job); without it the local one is used
 *   --root <dir>   the checkout whose ldap/image and mail/ folders are built (default: this repository;
 *                  tests/integration/ci/registry.test.ts builds a small test image this way)
 * Environment: CI_REGISTRY_IMAGE and CI_COMMIT_SHA (required); BASE_IMAGE (optional): the FROM image,
 *   passed as the build argument every Dockerfile of ours declares.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { requireEnv } from "./lib/ci-env";
import { type BuiltImage, discoverOwnImages, imagesToBuild } from "./lib/own-images";
import { builtImage, changeBase, dockerBuildArgs } from "./lib/registry";

function run(root: string, command: string, args: string[]): string {
  return execFileSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** Files changed since `base`, or "unknown" (first push, shallow clone without the base): then build all. */
function changedFiles(root: string, base: string | undefined): string[] | "unknown" {
  if (!base) return "unknown";
  try {
    return run(root, "git", ["diff", "--name-only", base, "HEAD"]).split("\n").filter(Boolean);
  } catch {
    return "unknown";
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "images.json" },
      list: { type: "string", default: "images.txt" },
      pull: { type: "boolean", default: false },
      root: { type: "string", default: path.resolve(__dirname, "..") },
    },
  });
  const env = requireEnv(["CI_REGISTRY_IMAGE", "CI_COMMIT_SHA"]);
  const root = path.resolve(values.root);
  const images = imagesToBuild(discoverOwnImages(root), changedFiles(root, changeBase(process.env)));

  const built: BuiltImage[] = [];
  for (const image of images) {
    const repository = `${env.CI_REGISTRY_IMAGE}/${image.name}`;
    const tagged = `${repository}:${env.CI_COMMIT_SHA}`;
    console.log(`== ${image.name}: building ${image.context}`);
    const buildArgs = dockerBuildArgs({
      tagged,
      context: image.context,
      baseImage: process.env.BASE_IMAGE || undefined,
      pull: values.pull,
    });
    execFileSync("docker", buildArgs, { cwd: root, stdio: "inherit" });
    execFileSync("docker", ["push", tagged], { cwd: root, stdio: "inherit" });
    const repoDigests = JSON.parse(run(root, "docker", ["image", "inspect", "--format", "{{json .RepoDigests}}", tagged])) as string[];
    built.push(builtImage(image.name, repository, env.CI_COMMIT_SHA, repoDigests));
  }

  writeFileSync(values.out, `${JSON.stringify(built, null, 2)}\n`);
  writeFileSync(values.list, built.map((image) => `${image.name} ${image.ref}\n`).join(""));
  console.log(built.length > 0 ? built.map((image) => `${image.name}: ${image.pin}`).join("\n") : "no image folder changed");
}

main();
