/**
 * ci/ssh-setup.sh as the Pulumi jobs use it: sourced in before_script, in the shell that then runs
 * the job's script (GitLab's runner shell has `set -eo pipefail`). @pulumi/command's remote
 * connections authenticate only through a key, a password or the agent at SSH_AUTH_SOCK, so the
 * script's job is an agent that holds the deploy key and is exported to every program the job runs.
 * Real ssh-agent and ssh-add; HOME is a temporary directory.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingTools, type ToolCheck } from "../../setup/preflight";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const SSH_TOOLS: ToolCheck[] = [
  {
    need: "ssh-agent, ssh-add and ssh-keygen (ci/ssh-setup.sh scenarios)",
    debianPackage: "openssh-client",
    command: ["sh", "-c", "command -v ssh-agent && command -v ssh-add && command -v ssh-keygen"],
  },
];
const missing = missingTools(SSH_TOOLS);
if (missing.length > 0 && process.env.CI === "true") {
  throw new Error(`CI=true but the ssh-setup scenarios cannot run: ${missing.join("; ")}`);
}

interface JobRun {
  status: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(missing.length > 0)("ci/ssh-setup.sh in a Pulumi job", () => {
  let work = ""; // made in beforeAll: a skipped suite leaves nothing behind
  let keyFile = "";
  let publicKey = "";

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), "ssh-setup-"));
    keyFile = path.join(work, "deploy_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "deploy@ci", "-f", keyFile]);
    publicKey = readFileSync(`${keyFile}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /**
   * The job: before_script sources the script, then `script` runs in the same shell. The agent the
   * script started is stopped at the end by its PID (as the job's container would be discarded).
   */
  function job(script: string, env: Record<string, string>, before = ". ci/ssh-setup.sh"): JobRun {
    const home = mkdtempSync(path.join(work, "home-"));
    const shell = `set -eo pipefail\n${before}\ntrap '[ -n "\${SSH_AGENT_PID:-}" ] && kill "$SSH_AGENT_PID"' EXIT\n${script}\n`;
    const result = spawnSync("bash", ["-c", shell], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 30_000,
      // Only what a CI job would have: no agent of the person running the tests.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  it("the job's script sees an agent that holds the deploy key", () => {
    const run = job('ssh-add -L\nprintf "sock=%s\\n" "$SSH_AUTH_SOCK"', { DEPLOY_SSH_KEY: keyFile });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(publicKey);
    expect(run.stdout).toMatch(/^sock=\/\S+$/m);
  });

  it("programs the job starts (pulumi and its providers) inherit SSH_AUTH_SOCK", () => {
    const run = job(
      `${JSON.stringify(process.execPath)} -e 'console.log("child sock=" + (process.env.SSH_AUTH_SOCK ?? "none"))'\nssh-add -l`,
      {
        DEPLOY_SSH_KEY: keyFile,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^child sock=\/\S+$/m);
    expect(run.stdout).toMatch(/deploy@ci \(ED25519\)/);
  });

  it("writes no known_hosts: both SSH connections trust only the host keys of the stack files", () => {
    const run = job("test ! -e ~/.ssh/known_hosts && echo none", { DEPLOY_SSH_KEY: keyFile });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^none$/m);
  });

  it("accepts the key pasted as a plain variable with Windows line endings", () => {
    const pasted = readFileSync(keyFile, "utf8").replace(/\n/g, "\r\n");
    const run = job("ssh-add -L", { DEPLOY_SSH_KEY: pasted });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(publicKey);
  });

  it("does not leave a copy of the private key under ~/.ssh", () => {
    const run = job("echo ---; ls -A ~/.ssh 2>/dev/null || true", { DEPLOY_SSH_KEY: keyFile });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split("---\n")[1]?.trim() ?? "").toBe("");
  });

  it("fails the before_script line and names the variable when DEPLOY_SSH_KEY is missing", () => {
    const run = job("echo script-ran", {});
    expect(run.status).not.toBe(0);
    expect(run.stdout).not.toContain("script-ran");
    expect(run.stderr).toMatch(/DEPLOY_SSH_KEY/);
  });

  it("fails the job when DEPLOY_SSH_KEY is not a private key", () => {
    const bad = path.join(work, "not-a-key");
    writeFileSync(bad, "-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64\n-----END OPENSSH PRIVATE KEY-----\n");
    const run = job("echo script-ran", { DEPLOY_SSH_KEY: bad });
    expect(run.status).not.toBe(0);
    expect(run.stdout).not.toContain("script-ran");
    expect(run.stderr).toMatch(/not a private key ssh-add accepts/);
  });

  it("refuses to run as a program (bash ci/ssh-setup.sh), whose agent the job would never see", () => {
    const run = job("echo script-ran", { DEPLOY_SSH_KEY: keyFile }, "bash ci/ssh-setup.sh");
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/must be sourced/);
  });
});
