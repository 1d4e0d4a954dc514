import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { behindSecretsToEnv } from "../../../platform/secrets-to-env";
import { factsFor } from "../../../platform/upstream-images";
import { renderStack, type RenderedContainer, type RenderedStack } from "../../../stacks/render";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { copyFile } from "../../helpers/harness";
import { containerOf } from "../../helpers/rendered";

/**
 * Mattermost and Collabora as the local stack renders them (entrypoint, command, user, env, files with their
 * mode and owner, no capabilities, no-new-privileges), on our base image instead of theirs, which cannot be
 * pulled here: their own entrypoint is replaced, at its path, by a stand-in that prints its arguments and
 * environment. So the platform's wrapper runs exactly as it would, as the image's user, reading the secret
 * files the provider uploads, with values a password or data source may hold.
 */
const BASE_IMAGE = "debian:bookworm-slim";
const TRICKY_PASSWORD = `p@ss w'rd "$HOME" \`id\` $(id) \\ * ; | & % €`;
const STAND_IN = `#!/bin/sh
for argument in "$@"; do printf 'arg=%s\\n' "$argument"; done
env | sed 's/^/env=/'
`;

describe.runIf(dockerAvailable())("the secrets-to-env wrapper in a container of our base image", () => {
  const prefix = `it${randomBytes(3).toString("hex")}-`;
  const created: string[] = [];
  let stack: RenderedStack;

  beforeAll(async () => {
    stack = await renderStack("local");
  }, 120_000);

  afterAll(async () => {
    if (created.length > 0) await docker(["rm", "-f", "-v", ...created]);
  });

  /** The rendered container with its secret files' contents replaced (same paths, modes and owners). */
  function withSecrets(spec: RenderedContainer, values: Record<string, string | undefined>, owners: Record<string, string> = {}) {
    const files = spec.files.flatMap((file) => {
      const key = file.path.startsWith("/run/secrets/") ? file.path.slice("/run/secrets/".length) : undefined;
      if (key === undefined || !(key in values)) return [file];
      const value = values[key];
      return value === undefined ? [] : [{ ...file, content: value, owner: owners[key] ?? file.owner }];
    });
    return { ...spec, files };
  }

  /** Creates the container as rendered, on the base image, copies its files and the stand-in, runs it to its end. */
  async function runAsRendered(spec: RenderedContainer): Promise<{ exitCode: number; output: string; inspect: string }> {
    const start = behindSecretsToEnv(spec);
    if (!start) throw new Error(`${spec.name} does not start through the wrapper`);
    const name = `${prefix}${spec.name}-${created.length}`;
    const user = spec.user ?? factsFor(spec.image)!.imageUser;
    const [entrypoint, ...entrypointArgs] = spec.entrypoint;
    await dockerOk([
      "create",
      "--name",
      name,
      "--user",
      user,
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges:true",
      "--network",
      "none",
      ...Object.entries(spec.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
      "--entrypoint",
      entrypoint,
      BASE_IMAGE,
      ...entrypointArgs,
      ...spec.command,
    ]);
    created.push(name);
    const standIn = { path: start.entrypoint[0], content: STAND_IN, mode: "0555", owner: "0:0" };
    for (const file of [...spec.files, standIn]) await copyFile(name, file);
    const run = await docker(["start", "-a", name], { timeoutMs: 60_000 });
    const inspect = await dockerOk(["inspect", name]);
    return { exitCode: run.exitCode, output: run.stdout + run.stderr, inspect };
  }

  const lines = (output: string, kind: string) =>
    output
      .split("\n")
      .filter((line) => line.startsWith(`${kind}=`))
      .map((line) => line.slice(kind.length + 1));
  const envOf = (output: string) =>
    Object.fromEntries(lines(output, "env").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));

  it("starts Mattermost's entrypoint with its command unchanged and its data source and SMTP password in its environment", async () => {
    const spec = containerOf(stack, "mattermost");
    const dsn = `postgres://mattermost:${TRICKY_PASSWORD}@mattermost-db:5432/mattermost?sslmode=disable&connect_timeout=10`;
    const result = await runAsRendered(
      withSecrets(spec, { MM_SQLSETTINGS_DATASOURCE: dsn, MM_EMAILSETTINGS_SMTPPASSWORD: TRICKY_PASSWORD }),
    );
    expect(result.exitCode, result.output).toBe(0);
    expect(lines(result.output, "arg")).toEqual(["mattermost"]);
    const env = envOf(result.output);
    expect(env.MM_SQLSETTINGS_DATASOURCE).toBe(dsn);
    expect(env.MM_EMAILSETTINGS_SMTPPASSWORD).toBe(TRICKY_PASSWORD);
    expect(env.MM_SQLSETTINGS_DATASOURCE_FILE).toBeUndefined();
    expect(env.MM_EMAILSETTINGS_SMTPUSERNAME).toBe(spec.env.MM_EMAILSETTINGS_SMTPUSERNAME);
    // What anyone with Docker API access reads: where the secrets are, not what they are.
    expect(result.inspect).not.toContain("p@ss w");
    expect(result.inspect).toContain("MM_SQLSETTINGS_DATASOURCE_FILE=/run/secrets/MM_SQLSETTINGS_DATASOURCE");
  });

  it("starts Collabora's start script with no argument and the admin password in its environment, as the image's user", async () => {
    const spec = containerOf(stack, "collabora");
    const result = await runAsRendered(withSecrets(spec, { password: TRICKY_PASSWORD }));
    expect(result.exitCode, result.output).toBe(0);
    expect(lines(result.output, "arg")).toEqual([]);
    const env = envOf(result.output);
    expect(env.password).toBe(TRICKY_PASSWORD);
    expect(env.password_FILE).toBeUndefined();
    expect(env.username).toBe("admin");
    expect(result.inspect).not.toContain("p@ss w");
  });

  it("does not start the upstream entrypoint when a secret file is missing, and says which in one line", async () => {
    const spec = containerOf(stack, "mattermost");
    const result = await runAsRendered(withSecrets(spec, { MM_SQLSETTINGS_DATASOURCE: undefined }));
    expect(result.exitCode).toBe(1);
    expect(result.output.trim()).toBe(
      "secrets-to-env: MM_SQLSETTINGS_DATASOURCE: /run/secrets/MM_SQLSETTINGS_DATASOURCE is missing or unreadable; not starting /entrypoint.sh",
    );
  });

  it("does not start it when a secret file is not readable by the container's user (owned by root, 0400)", async () => {
    const spec = containerOf(stack, "collabora");
    const result = await runAsRendered(withSecrets(spec, { password: TRICKY_PASSWORD }, { password: "0:0" }));
    expect(result.exitCode).toBe(1);
    expect(result.output.trim()).toBe(
      "secrets-to-env: password: /run/secrets/password is missing or unreadable; not starting /start-collabora-online.sh",
    );
    expect(result.output).not.toContain("p@ss w");
  });
});
