import { readFileSync } from "node:fs";

/**
 * The shell commands of our Markdown documents, so that a test can run them (docs that are run do not
 * go stale). The conventions (the README's Tests section states them for writers):
 *
 * - a fenced block whose info string is `bash` or `sh` is run, as one script, in a scratch copy of the
 *   repository (tests/unit/docs/runnable-docs.test.ts);
 * - `bash syntax-only: <why>` (a real host, the Pulumi CLI, credentials, the test suite itself) is only
 *   checked with `bash -n`; the reason is required;
 * - `bash local-stack`: the script needs the `local` stack running; the integration test of the tour
 *   (tests/integration/docs/tour.test.ts) runs it against the containers the harness starts;
 * - `bash status=N`: the script is run and must exit N (a check that reports a problem on purpose,
 *   like `npm run secrets` on stack files with secrets still to set);
 * - a `text output` block right after a run block is what that script prints; a line `...` stands for
 *   any number of lines, and `...` inside a line for any text, so a doc may show only what matters.
 */

export interface ShellBlock {
  /** `README.md:31`: where the block's opening fence is. */
  where: string;
  script: string;
  /** Why the block is only checked for syntax; absent when it is run. */
  syntaxOnly?: string;
  /** The exit status the run must end with. */
  status: number;
  /** Runs only with the `local` stack started (integration layer). */
  localStack?: true;
  /** What the doc says the script prints (the following `text output` block). */
  expectedOutput?: string;
}

const FENCE = /^```(.*)$/;
const SHELL = /^(bash|sh)(?:\s+(.*))?$/;
const SYNTAX_ONLY = /^syntax-only(?::\s*(.*))?$/;
const STATUS = /^status=(\d+)$/;

/** Parse a Markdown document's shell blocks; a malformed marker is an error naming its line. */
export function shellBlocks(file: string, markdown = readFileSync(file, "utf8")): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]);
    if (!fence) continue;
    const info = fence[1].trim();
    const end = lines.findIndex((line, j) => j > i && line.startsWith("```"));
    if (end < 0) throw new Error(`${file}:${i + 1}: the fenced block is never closed`);
    const body = lines.slice(i + 1, end).join("\n") + "\n";
    const where = `${file}:${i + 1}`;
    const shell = SHELL.exec(info);
    if (shell) {
      const block: ShellBlock = { where, script: body, status: 0 };
      const marker = shell[2]?.trim();
      const syntaxOnly = marker && SYNTAX_ONLY.exec(marker);
      const status = marker && STATUS.exec(marker);
      if (syntaxOnly) {
        if (!syntaxOnly[1]?.trim()) throw new Error(`${where}: "syntax-only" needs its reason ("syntax-only: needs a real host")`);
        block.syntaxOnly = syntaxOnly[1].trim();
      } else if (status) block.status = Number(status[1]);
      else if (marker === "local-stack") block.localStack = true;
      else if (marker)
        throw new Error(`${where}: unknown marker "${marker}"; expected "syntax-only: <why>", "local-stack", "status=N" or none`);
      blocks.push(block);
    } else if (info === "text output") {
      const previous = blocks[blocks.length - 1];
      if (!previous || previous.syntaxOnly || previous.expectedOutput !== undefined)
        throw new Error(`${where}: a "text output" block must follow a run shell block`);
      previous.expectedOutput = body;
    }
    i = end;
  }
  return blocks;
}

/**
 * Whether `actual` is what the doc shows: line by line, a `...` line matching any number of lines and a
 * `...` inside a line any text (an address, a count that varies from one machine to another).
 */
export function matchesShownOutput(actual: string, shown: string): boolean {
  const want = shown.trimEnd().split("\n");
  const got = actual.trimEnd().split("\n");
  const match = (w: number, g: number): boolean => {
    if (w === want.length) return g === got.length;
    if (want[w].trim() === "...") return Array.from({ length: got.length - g + 1 }, (_, k) => g + k).some((next) => match(w + 1, next));
    return g < got.length && sameLine(got[g], want[w]) && match(w + 1, g + 1);
  };
  return match(0, 0);
}

function sameLine(actual: string, shown: string): boolean {
  const parts = shown
    .trimEnd()
    .split("...")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(actual.trimEnd());
}
