import { describe, expect, it } from "vitest";
import { matchesShownOutput, shellBlocks } from "../../helpers/doc-blocks";

const doc = (...lines: string[]) => lines.join("\n") + "\n";

describe("reading the documents' shell blocks", () => {
  it("runs plain bash and sh blocks, checks syntax-only ones, leaves local-stack ones to the tour's integration test, and pairs a shown output with its block", () => {
    const blocks = shellBlocks(
      "doc.md",
      doc(
        "```bash",
        "npm run plan",
        "```",
        "```text output",
        "...",
        "```",
        "```sh syntax-only: needs a real host",
        "ssh host true",
        "```",
        "```bash status=1",
        "false",
        "```",
        "```bash local-stack",
        "docker stop ldap",
        "```",
      ),
    );
    expect(blocks).toEqual([
      { where: "doc.md:1", script: "npm run plan\n", status: 0, expectedOutput: "...\n" },
      { where: "doc.md:7", script: "ssh host true\n", status: 0, syntaxOnly: "needs a real host" },
      { where: "doc.md:10", script: "false\n", status: 1 },
      { where: "doc.md:13", script: "docker stop ldap\n", status: 0, localStack: true },
    ]);
  });

  it.each([
    [doc("```bash syntax-only", "x", "```"), 'doc.md:1: "syntax-only" needs its reason ("syntax-only: needs a real host")'],
    [
      doc("```bash maybe", "x", "```"),
      'doc.md:1: unknown marker "maybe"; expected "syntax-only: <why>", "local-stack", "status=N" or none',
    ],
    [doc("```text output", "x", "```"), 'doc.md:1: a "text output" block must follow a run shell block'],
    [doc("```bash", "x"), "doc.md:1: the fenced block is never closed"],
  ])("refuses a malformed block with the line to fix (%#)", (markdown, message) => {
    expect(() => shellBlocks("doc.md", markdown)).toThrow(message);
  });

  it.each([
    ["a\nb\n", "a\nb\n", true],
    ["a\nb\nc\n", "a\n...\nc\n", true],
    ["a\nc\n", "a\n...\nc\n", true],
    ["a\nb\n", "a\nc\n", false],
    ["a\nb\nc\n", "a\nb\n", false],
    ["banner\na\n", "...\na\n", true],
    ["cannot reach ldaps://172.28.0.2:636: refused\n", "cannot reach ...: refused\n", true],
    ["cannot reach ldaps://172.28.0.2:636: timeout\n", "cannot reach ...: refused\n", false],
    ["a.b\n", "a.b\n", true],
    ["axb\n", "a.b\n", false],
  ])("compares %j with the shown %j line by line, '...' standing for any lines or any text in a line", (actual, shown, expected) => {
    expect(matchesShownOutput(actual, shown)).toBe(expected);
  });
});
