import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SECRETS_TO_ENV_SCRIPT } from "../../../platform/secrets-to-env";

/**
 * The wrapper that hands secret files to images reading only their environment (platform/secrets-to-env.ts),
 * run for real by the shells of the images it runs in (dash is /bin/sh on Debian and Ubuntu; bash too),
 * in front of a stand-in upstream entrypoint that reports its arguments and environment.
 * tests/integration/platform/secrets-to-env.test.ts runs it in a container, as rendered.
 */

/** Values a password or a data source may hold, with everything a shell could expand, split or glob. */
const TRICKY: Record<string, string> = {
  SPACES: "two  spaces and a\ttab ",
  QUOTES: `it's "quoted" \\"twice\\"`,
  EXPANSIONS: "$HOME ${PATH} $(id) `id` $1 $@ $* $$",
  GLOBS: "* ? [a-z] ~ ~root",
  DASHES: "-n -e --",
  EQUALS: "a=b=c;d|e&f<g>h",
  UNICODE: "pässwörd€ 🔑",
  DSN: "postgres://mattermost:p@ss w$rd'\"%20@mattermost-db:5432/mattermost?sslmode=disable&connect_timeout=10",
};

/** Reports its arguments, then its environment, NUL-separated, with a marker between. */
const STAND_IN = `#!/bin/sh
for argument in "$@"; do printf '%s\\0' "$argument"; done
printf -- '--env--\\0'
env -0
`;

describe.each(["dash", "bash"])("the secrets-to-env wrapper, run by %s", (shell) => {
  let dir: string;
  let upstream: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-to-env-"));
    upstream = path.join(dir, "upstream entrypoint");
    fs.writeFileSync(upstream, STAND_IN, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "secrets-to-env"), SECRETS_TO_ENV_SCRIPT, { mode: 0o555 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes each secret to a file, names it in <VAR>_FILE as the platform does, and runs the wrapper. */
  const run = (secrets: Record<string, string>, args: string[], extraEnv: Record<string, string> = {}) => {
    const fileEnv = Object.fromEntries(
      Object.entries(secrets).map(([name, value]) => {
        const file = path.join(dir, `secret ${name}`);
        fs.writeFileSync(file, value, { mode: 0o400 });
        return [`${name}_FILE`, file];
      }),
    );
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", KEPT: "as it was", ...fileEnv, ...extraEnv };
    const result = spawnSync(shell, [path.join(dir, "secrets-to-env"), ...args], { env, encoding: "utf8", timeout: 10_000 });
    const [argv, environment] = result.stdout.split("--env--\0");
    const lines = (environment ?? "").split("\0").filter((line) => line !== "");
    return {
      status: result.status,
      stderr: result.stderr,
      stdout: result.stdout,
      argv: (argv ?? "").split("\0").slice(0, -1),
      env: Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])),
    };
  };

  it("exports every named secret with its file's exact content, and drops the <VAR>_FILE variables", () => {
    const names = Object.keys(TRICKY);
    const result = run(TRICKY, [...names, "--", upstream]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    for (const name of names) {
      expect(result.env[name], name).toBe(TRICKY[name]);
      expect(result.env[`${name}_FILE`], name).toBeUndefined();
    }
    expect(result.env.KEPT).toBe("as it was");
  });

  it("execs the upstream entrypoint with its arguments unchanged", () => {
    const args = ["mattermost", "", "two words", "$HOME", "*", "--", "-x", `"'`];
    const result = run({ password: "pw" }, ["password", "--", upstream, ...args]);
    expect(result.status).toBe(0);
    expect(result.argv).toEqual(args);
    expect(result.env.password).toBe("pw");
  });

  it("drops the file's trailing newline (a file written by an editor) and keeps a lowercase variable name", () => {
    const result = run({ password: "S3cret with space\n" }, ["password", "--", upstream]);
    expect(result.status).toBe(0);
    expect(result.env.password).toBe("S3cret with space");
  });

  it.each([
    [
      "the file is missing",
      { A_PASSWORD_FILE: "/nonexistent/A_PASSWORD" },
      {},
      ["A_PASSWORD"],
      /^A_PASSWORD: \/nonexistent\/A_PASSWORD is missing or unreadable; not starting /,
    ],
    ["<VAR>_FILE is not set", {}, {}, ["A_PASSWORD"], /^A_PASSWORD: A_PASSWORD_FILE is not set; not starting /],
    ["the file is empty", {}, { A_PASSWORD: "" }, ["A_PASSWORD"], /^A_PASSWORD: .*secret A_PASSWORD is empty; not starting /],
    [
      "the file holds two lines",
      {},
      { A_PASSWORD: "first line\nsecond line" },
      ["A_PASSWORD"],
      /^A_PASSWORD: .* holds more than one line; not starting /,
    ],
    ["a name is not a variable name", {}, {}, ["A-PASSWORD"], /^'A-PASSWORD' is not a variable name$/],
    ["a name would be code", {}, {}, ["X=$(id)"], /^'X=\$\(id\)' is not a variable name$/],
  ])("refuses to start when %s, in one line that names the problem and no value", (_case, extraEnv, secrets, names, message) => {
    const result = run(secrets, [...names, "--", upstream], extraEnv);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(""); // the upstream entrypoint never ran
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^secrets-to-env: /);
    expect(lines[0].slice("secrets-to-env: ".length)).toMatch(message);
    expect(result.stderr).not.toContain("second line");
  });

  it.each([
    ["no --", ["A_PASSWORD"]],
    ["nothing after --", ["A_PASSWORD", "--"]],
  ])("refuses a call with %s, saying how to call it", (_case, args) => {
    const result = run({ A_PASSWORD: "pw" }, args);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("secrets-to-env: usage: secrets-to-env NAME... -- PROGRAM [ARGUMENT...]\n");
  });
});

describe("the secrets-to-env script", () => {
  it("passes shellcheck as POSIX sh", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-to-env-"));
    try {
      const file = path.join(dir, "secrets-to-env");
      fs.writeFileSync(file, SECRETS_TO_ENV_SCRIPT);
      expect(() => execFileSync("shellcheck", ["--shell=sh", file], { encoding: "utf8" })).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
