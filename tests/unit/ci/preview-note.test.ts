import { describe, expect, it, vi } from "vitest";
import {
  changeSummary,
  findPreviewNote,
  formatPreviewNote,
  type MergeRequestNotesApi,
  type Note,
  noteMarker,
  truncateOutput,
  upsertPreviewNote,
} from "../../../ci/lib/preview-note";

const PREVIEW = `Previewing update (pica01):
     Type                         Name            Plan       Info
     pulumi:pulumi:Stack          infra-pica01
 +   ├─ docker:index:Container    mattermost      create
 ~   └─ docker:index:Container    proxy           update     [diff: ~image]

Resources:
    + 1 to create
    ~ 1 to update
    12 unchanged
`;

const MR = { projectId: 42, mergeRequestIid: 7 };

/** An in-memory merge request: the notes API the poster talks to. */
function fakeNotesApi(initial: Note[] = []): MergeRequestNotesApi & { notes: Note[] } {
  const notes = [...initial];
  return {
    notes,
    all: vi.fn(async () => [...notes]),
    create: vi.fn(async (_p, _mr, body: string) => {
      notes.push({ id: Math.max(0, ...notes.map((n) => n.id)) + 1, body });
    }),
    edit: vi.fn(async (_p, _mr, noteId: number, { body }: { body: string }) => {
      const note = notes.find((n) => n.id === noteId);
      if (!note) throw new Error(`404 note ${noteId}`);
      note.body = body;
    }),
  };
}

describe("formatPreviewNote", () => {
  it("starts with the host's hidden marker and sums up the changes", () => {
    const body = formatPreviewNote({
      stack: "pica01",
      exitCode: 0,
      output: PREVIEW,
      commitSha: "abc12345",
      pipelineUrl: "https://gitlab.example.org/p/-/pipelines/9",
    });
    expect(body.startsWith("<!-- infra-preview:pica01 -->\n")).toBe(true);
    expect(body).toContain("### Pulumi preview: `pica01`");
    expect(body).toContain("✅ **changes:** + 1 to create · ~ 1 to update");
    expect(body).toContain("commit `abc12345` · [pipeline](https://gitlab.example.org/p/-/pipelines/9)");
    expect(body).toContain("```diff\nPreviewing update (pica01):");
  });

  it("says so when nothing changes", () => {
    const output = "Resources:\n    14 unchanged\n";
    expect(formatPreviewNote({ stack: "pica02", exitCode: 0, output })).toContain("✅ **no changes**");
  });

  it("marks a failed preview (error or policy violation) as not deployable", () => {
    const body = formatPreviewNote({ stack: "pica02", exitCode: 255, output: "Policy Violations:\n    [mandatory] no-privileged" });
    expect(body).toContain("❌ **preview failed** (exit code 255)");
    expect(body).toContain("[mandatory] no-privileged");
  });

  it("uses a fence the output cannot close", () => {
    const body = formatPreviewNote({ stack: "pica01", exitCode: 0, output: "a ``` b ```` c" });
    expect(body).toContain("`````diff\na ``` b ```` c\n`````");
  });
});

describe("changeSummary", () => {
  it("reads Pulumi's Resources block", () => {
    expect(changeSummary(PREVIEW)).toEqual(["+ 1 to create", "~ 1 to update", "12 unchanged"]);
  });

  it("is empty when Pulumi failed before the summary", () => {
    expect(changeSummary("error: could not connect to ssh://deploy@pica01")).toEqual([]);
  });
});

describe("truncateOutput", () => {
  it("keeps the start and the summary at the end of an overlong preview", () => {
    const output = `${"x".repeat(100_000)}\nResources:\n    + 1 to create\n`;
    const short = truncateOutput(output, 10_000);
    expect(short.length).toBeLessThan(10_200);
    expect(short.startsWith("xxx")).toBe(true);
    expect(short).toMatch(/characters cut here/);
    expect(short.endsWith("Resources:\n    + 1 to create\n")).toBe(true);
  });

  it("leaves a short preview alone", () => {
    expect(truncateOutput(PREVIEW)).toBe(PREVIEW);
  });
});

describe("findPreviewNote", () => {
  const notes: Note[] = [
    { id: 1, body: "LGTM" },
    { id: 2, body: `${noteMarker("pica02")}\nold pica02` },
    { id: 3, body: `${noteMarker("pica01")}\nold pica01` },
    { id: 4, body: `changed the description ${noteMarker("pica01")}`, system: true },
  ];

  it("finds this host's note, not another host's nor a system note", () => {
    expect(findPreviewNote(notes, "pica01")?.id).toBe(3);
    expect(findPreviewNote(notes, "pica02")?.id).toBe(2);
    expect(findPreviewNote(notes, "pica03")).toBeUndefined();
  });

  it("does not take pica1 for pica10", () => {
    expect(findPreviewNote([{ id: 5, body: noteMarker("pica10") }], "pica1")).toBeUndefined();
  });
});

describe("upsertPreviewNote", () => {
  it("adds the note the first time", async () => {
    const api = fakeNotesApi([{ id: 1, body: "please review" }]);
    const result = await upsertPreviewNote(api, MR, { stack: "pica01", exitCode: 0, output: PREVIEW });
    expect(result.action).toBe("created");
    expect(api.create).toHaveBeenCalledWith(42, 7, result.body);
    expect(api.notes).toHaveLength(2);
  });

  it("updates its note on the next pipeline instead of adding another", async () => {
    const api = fakeNotesApi();
    await upsertPreviewNote(api, MR, { stack: "pica01", exitCode: 0, output: PREVIEW });
    await upsertPreviewNote(api, MR, { stack: "pica02", exitCode: 0, output: PREVIEW });
    const second = await upsertPreviewNote(api, MR, { stack: "pica01", exitCode: 0, output: "Resources:\n    13 unchanged\n" });

    expect(second.action).toBe("updated");
    expect(api.create).toHaveBeenCalledTimes(2);
    expect(api.edit).toHaveBeenCalledWith(42, 7, 1, { body: second.body });
    expect(api.notes.map((n) => n.body.split("\n")[0])).toEqual([noteMarker("pica01"), noteMarker("pica02")]);
    expect(api.notes[0].body).toContain("no changes");
  });
});
