/**
 * The merge-request note that shows what `pulumi preview` would change on one host.
 * One note per host, found again by a hidden marker and edited in place on each pipeline.
 */

export interface PreviewRun {
  stack: string;
  /** Exit code of `pulumi preview`: non-zero means an error or a policy violation. */
  exitCode: number;
  /** Its combined output, already redacted. */
  output: string;
  commitSha?: string;
  pipelineUrl?: string;
}

export interface Note {
  id: number;
  body: string;
  system?: boolean;
}

// GitLab notes hold up to 1,000,000 characters; a note this long is unreadable anyway.
export const MAX_OUTPUT_CHARS = 60_000;
const TAIL_CHARS = 4_000;

export function noteMarker(stack: string): string {
  return `<!-- infra-preview:${stack} -->`;
}

/** The `Resources:` summary Pulumi prints last, e.g. ["+ 2 to create", "~ 1 to update", "5 unchanged"]. */
export function changeSummary(output: string): string[] {
  const lines = output.split("\n");
  const start = lines.findIndex((line) => line.trim() === "Resources:");
  if (start < 0) return [];
  const summary: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    summary.push(line.trim().replace(/\s+/g, " "));
  }
  return summary;
}

/** Keep the start (the diff) and the end (summary, policy results) of an overlong output. */
export function truncateOutput(output: string, maxChars = MAX_OUTPUT_CHARS): string {
  if (output.length <= maxChars) return output;
  const cut = output.length - maxChars;
  const head = output.slice(0, maxChars - TAIL_CHARS);
  const tail = output.slice(output.length - TAIL_CHARS);
  return `${head}\n… ${cut} characters cut here; the job log has the whole preview …\n${tail}`;
}

/** A code fence longer than any run of backticks in the text, so the output cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return "`".repeat(Math.max(3, longest + 1));
}

function headline(run: PreviewRun, summary: string[]): string {
  if (run.exitCode !== 0) {
    return `❌ **preview failed** (exit code ${run.exitCode}): errors or policy violations below; this cannot be deployed as is.`;
  }
  const changes = summary.filter((line) => !/unchanged$/.test(line));
  return changes.length === 0 ? "✅ **no changes**" : `✅ **changes:** ${changes.join(" · ")}`;
}

export function formatPreviewNote(run: PreviewRun): string {
  const summary = changeSummary(run.output);
  const output = truncateOutput(run.output.trimEnd());
  const fence = fenceFor(output);
  const context = [
    run.commitSha ? `commit \`${run.commitSha}\`` : undefined,
    run.pipelineUrl ? `[pipeline](${run.pipelineUrl})` : undefined,
  ].filter(Boolean);
  return [
    noteMarker(run.stack),
    `### Pulumi preview: \`${run.stack}\``,
    "",
    headline(run, summary),
    ...(context.length > 0 ? ["", context.join(" · ")] : []),
    "",
    "<details><summary>Full preview (secrets redacted)</summary>",
    "",
    `${fence}diff`,
    output,
    fence,
    "",
    "</details>",
    "",
  ].join("\n");
}

/** The note an earlier pipeline posted for this host, if any (the oldest, should there be several). */
export function findPreviewNote<N extends Note>(notes: readonly N[], stack: string): N | undefined {
  const marker = noteMarker(stack);
  return notes.filter((note) => !note.system && note.body.includes(marker)).sort((a, b) => a.id - b.id)[0];
}

/** The part of the GitLab merge-request notes API this needs (a @gitbeaker/rest MergeRequestNotes fits). */
export interface MergeRequestNotesApi {
  all(projectId: string | number, mergeRequestIid: number): Promise<Note[]>;
  create(projectId: string | number, mergeRequestIid: number, body: string): Promise<unknown>;
  edit(projectId: string | number, mergeRequestIid: number, noteId: number, options: { body: string }): Promise<unknown>;
}

export interface MergeRequestRef {
  projectId: string | number;
  mergeRequestIid: number;
}

/** Edit this host's note if the merge request has one, else add it. */
export async function upsertPreviewNote(
  api: MergeRequestNotesApi,
  mr: MergeRequestRef,
  run: PreviewRun,
): Promise<{ action: "created" | "updated"; body: string }> {
  const body = formatPreviewNote(run);
  const existing = findPreviewNote(await api.all(mr.projectId, mr.mergeRequestIid), run.stack);
  if (existing) {
    await api.edit(mr.projectId, mr.mergeRequestIid, existing.id, { body });
    return { action: "updated", body };
  }
  await api.create(mr.projectId, mr.mergeRequestIid, body);
  return { action: "created", body };
}
