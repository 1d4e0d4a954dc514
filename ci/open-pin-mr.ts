/**
 * After images:build and images:scan on the default branch: commit the new pins to a branch
 * through the GitLab API and open a merge request, whose preview notes then show each host's change.
 * Usage: npx tsx ci/open-pin-mr.ts --images images.json
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Gitlab } from "@gitbeaker/rest";
import { requireEnv } from "./lib/ci-env";
import type { BuiltImage } from "./lib/own-images";
import { openPinMergeRequest } from "./lib/pin-merge-request";
import { pinChanges, pinsOf } from "./lib/stack-files";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { images: { type: "string", default: "images.json" } } });
  const images = JSON.parse(readFileSync(values.images, "utf8")) as BuiltImage[];
  const changes = pinChanges(path.resolve(__dirname, ".."), pinsOf(images));
  if (changes.length === 0) {
    console.log("no stack pins these images; nothing to propose");
    return;
  }
  const env = requireEnv(["CI_SERVER_URL", "CI_PROJECT_ID", "CI_DEFAULT_BRANCH", "CI_COMMIT_SHA", "PIN_MR_TOKEN"]);
  const api = new Gitlab({ host: env.CI_SERVER_URL, token: env.PIN_MR_TOKEN });
  const mr = await openPinMergeRequest(api, {
    projectId: env.CI_PROJECT_ID,
    targetBranch: env.CI_DEFAULT_BRANCH,
    commitSha: env.CI_COMMIT_SHA,
    changes,
  });
  console.log(`opened merge request !${mr.iid}: ${mr.web_url}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
