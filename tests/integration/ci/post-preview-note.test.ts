/**
 * ci/post-preview-note.ts as the preview job runs it, against a stand-in GitLab API on 127.0.0.1:
 * checks the real HTTP calls @gitbeaker/rest makes (paths, token header, bodies) and that the
 * second pipeline edits the note the first one posted.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

interface Call {
  method: string;
  path: string;
  token: string | undefined;
  body: Record<string, unknown>;
}

/** Just enough of the merge-request notes API: list, create, edit, kept in memory. */
function fakeGitLab(): { server: Server; calls: Call[]; notes: { id: number; body: string; system: boolean }[] } {
  const calls: Call[] = [];
  const notes: { id: number; body: string; system: boolean }[] = [{ id: 100, body: "Looks good to me", system: false }];
  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const body = await readBody(req);
    calls.push({ method: req.method ?? "", path: url.pathname, token: req.headers["private-token"] as string | undefined, body });
    const notesPath = "/api/v4/projects/42/merge_requests/7/notes";
    res.setHeader("content-type", "application/json");
    if (req.method === "GET" && url.pathname === notesPath) {
      res.setHeader("x-total-pages", "1");
      res.end(JSON.stringify(notes));
    } else if (req.method === "POST" && url.pathname === notesPath) {
      const note = { id: 101 + notes.length, body: String(body.body), system: false };
      notes.push(note);
      res.statusCode = 201;
      res.end(JSON.stringify(note));
    } else if (req.method === "PUT" && url.pathname.startsWith(`${notesPath}/`)) {
      const note = notes.find((n) => n.id === Number(url.pathname.split("/").at(-1)));
      if (!note) {
        res.statusCode = 404;
        res.end("{}");
        return;
      }
      note.body = String(body.body);
      res.end(JSON.stringify(note));
    } else {
      res.statusCode = 404;
      res.end("{}");
    }
  });
  return { server, calls, notes };
}

const gitlab = fakeGitLab();
const workDir = mkdtempSync(path.join(tmpdir(), "preview-note-"));
let serverUrl = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => gitlab.server.listen(0, "127.0.0.1", resolve));
  serverUrl = `http://127.0.0.1:${(gitlab.server.address() as AddressInfo).port}`;
});

afterAll(() => {
  gitlab.server.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function postNote(output: string, exitCode: number): Promise<string> {
  const file = path.join(workDir, "preview-pica01.txt");
  writeFileSync(file, output);
  const { stdout } = await promisify(execFile)(
    TSX,
    ["ci/post-preview-note.ts", "--stack", "pica01", "--output", file, "--exit-code", String(exitCode)],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        CI_SERVER_URL: serverUrl,
        CI_PROJECT_ID: "42",
        CI_MERGE_REQUEST_IID: "7",
        CI_COMMIT_SHORT_SHA: "abc12345",
        PREVIEW_NOTE_TOKEN: "note-token-for-tests",
        PULUMI_CONFIG_PASSPHRASE: "passphrase-in-the-output",
      },
    },
  );
  return stdout;
}

describe("post-preview-note.ts", () => {
  it("posts the redacted preview as a new note the first time", async () => {
    const stdout = await postNote("error: passphrase-in-the-output is wrong\nResources:\n    + 2 to create\n", 255);

    expect(stdout).toContain("preview note for pica01: created");
    expect(stdout).not.toContain("passphrase-in-the-output");
    const post = gitlab.calls.find((c) => c.method === "POST");
    expect(post?.token).toBe("note-token-for-tests");
    expect(String(post?.body.body)).toMatch(/^<!-- infra-preview:pica01 -->/);
    expect(String(post?.body.body)).not.toContain("passphrase-in-the-output");
    expect(gitlab.notes).toHaveLength(2);
  });

  it("edits that note on the next pipeline", async () => {
    const stdout = await postNote("Resources:\n    14 unchanged\n", 0);

    expect(stdout).toContain("preview note for pica01: updated");
    expect(gitlab.calls.filter((c) => c.method === "POST")).toHaveLength(1);
    expect(gitlab.calls.at(-1)).toMatchObject({ method: "PUT", path: "/api/v4/projects/42/merge_requests/7/notes/102" });
    expect(gitlab.notes).toHaveLength(2);
    expect(gitlab.notes[1].body).toContain("✅ **no changes**");
  });
});
