/**
 * Post (or update) the merge-request note with one host's `pulumi preview` output, redacted.
 * Usage (in the preview job): npx tsx ci/post-preview-note.ts --stack pica01 --output preview.txt --exit-code 0
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Gitlab } from "@gitbeaker/rest";
import { requireEnv } from "./lib/ci-env";
import { upsertPreviewNote } from "./lib/preview-note";
import { redact, SECRET_VARIABLES, secretValuesFromEnv } from "./lib/redact";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      output: { type: "string" },
      "exit-code": { type: "string", default: "0" },
    },
  });
  if (!values.stack || !values.output) throw new Error("usage: post-preview-note.ts --stack NAME --output FILE [--exit-code N]");

  const env = requireEnv(["CI_SERVER_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "PREVIEW_NOTE_TOKEN"]);
  const extraSecrets = (process.env.REDACT_VARIABLES ?? "").split(/[\s,]+/).filter(Boolean);
  const output = redact(readFileSync(values.output, "utf8"), secretValuesFromEnv([...SECRET_VARIABLES, ...extraSecrets], process.env));
  process.stdout.write(output);

  const api = new Gitlab({ host: env.CI_SERVER_URL, token: env.PREVIEW_NOTE_TOKEN });
  const { action } = await upsertPreviewNote(
    api.MergeRequestNotes,
    { projectId: env.CI_PROJECT_ID, mergeRequestIid: Number(env.CI_MERGE_REQUEST_IID) },
    {
      stack: values.stack,
      exitCode: Number(values["exit-code"]),
      output,
      commitSha: process.env.CI_COMMIT_SHORT_SHA,
      pipelineUrl: process.env.CI_PIPELINE_URL,
    },
  );
  console.log(`\npreview note for ${values.stack}: ${action}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
