import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { matchesShownOutput, shellBlocks } from "../../helpers/doc-blocks";

const REPO_ROOT = path.resolve(__dirname, "../../..");

/** The documents a newcomer reads: every Markdown file of the repository (tracked or new). */
const documents = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"], {
  cwd: REPO_ROOT,
  encoding: "utf8",
})
  .split("\n")
  .filter(Boolean)
  .sort();
const blocks = documents.flatMap((file) => shellBlocks(file, undefined).map((block) => ({ ...block, file })));

// Each block runs in its own copy of the repository, as a newcomer's fresh checkout would (a command
// that writes a file, like `--format markdown > pica02.md`, leaves nothing behind here).
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "docs-"));
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: REPO_ROOT, encoding: "utf8" });
  for (const file of files.split("\0").filter(Boolean)) cpSync(path.join(REPO_ROOT, file), path.join(scratch, file), { force: true });
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(scratch, "node_modules"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bash(args: string[], script: string) {
  return spawnSync("bash", [...args, "-c", script], {
    cwd: scratch,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, FORCE_COLOR: "0" },
  });
}

describe("the documents' links", () => {
  it.each(documents)("%s links only to files that exist", (file) => {
    const links = [...readFileSync(path.join(REPO_ROOT, file), "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1]);
    const broken = links.filter((link) => !/^[a-z]+:/.test(link) && !existsSync(path.join(REPO_ROOT, path.dirname(file), link)));
    expect(broken).toEqual([]);
  });
});

describe("the documents' shell commands", () => {
  it("finds the documents' commands (README.md and docs/ have some)", () => {
    expect(blocks.filter((block) => block.file === "README.md").length).toBeGreaterThan(0);
    expect(blocks.filter((block) => block.file.startsWith("docs/")).length).toBeGreaterThan(0);
  });

  // Blocks that need the `local` stack running are run by tests/integration/docs/tour.test.ts.
  for (const block of blocks.filter((candidate) => !candidate.syntaxOnly && !candidate.localStack)) {
    it(`runs ${block.where}${block.expectedOutput ? " and prints what the doc shows" : ""}`, () => {
      const run = bash(["-eo", "pipefail"], block.script);
      expect(run.status, `${block.where} exited ${run.status}:\n${run.stderr}`).toBe(block.status);
      if (block.expectedOutput !== undefined)
        expect(matchesShownOutput(run.stdout, block.expectedOutput), `${block.where} printed:\n${run.stdout}`).toBe(true);
    }, 180_000);
  }

  for (const block of blocks.filter((candidate) => candidate.syntaxOnly)) {
    it(`checks the syntax of ${block.where} (${block.syntaxOnly})`, () => {
      const check = bash(["-n"], block.script);
      expect(check.status, check.stderr).toBe(0);
    });
  }
});
