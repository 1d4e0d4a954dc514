import { beforeAll, describe, expect, it } from "vitest";
import { SECRETS_TO_ENV_PATH, SECRETS_TO_ENV_SCRIPT } from "../../../platform/secrets-to-env";
import { factsFor } from "../../../platform/upstream-images";
import { listStacks, renderStack, type RenderedStack } from "../../../stacks/render";

/**
 * Mattermost, Collabora and Debian's postgres_exporter 0.11 (several data sources: only as DATA_SOURCE_NAME,
 * monitoring/database-exporters.ts) read their passwords from their environment only. They get them as files like
 * every container, and start through the platform's wrapper (platform/secrets-to-env.ts), which exports
 * them and then runs the image's own start: checked here on every stack as rendered; the wrapper itself is
 * run by tests/unit/foundation/secrets-to-env.test.ts and, in a container, tests/integration/platform/.
 */
const WRAPPED: Record<string, { secrets: string[]; entrypoint: string[]; command: string[] }> = {
  mattermost: {
    secrets: ["MM_EMAILSETTINGS_SMTPPASSWORD", "MM_SQLSETTINGS_DATASOURCE"],
    entrypoint: ["/entrypoint.sh"],
    command: ["mattermost"],
  },
  collabora: { secrets: ["password"], entrypoint: ["/start-collabora-online.sh"], command: [] },
  ...Object.fromEntries(
    ["monitoring-postgres", "agent-postgres"].map((name) => [
      name,
      {
        secrets: ["DATA_SOURCE_NAME"],
        entrypoint: [],
        command: [
          "prometheus-postgres-exporter",
          "--web.listen-address=:9187",
          "--no-collector.database",
          "--no-collector.bgwriter",
          "--extend.query-path=/etc/monitoring/postgres-queries.yml",
        ],
      },
    ]),
  ),
};

describe.each(listStacks())("stack %s: containers whose image reads its secrets from its environment only", (name) => {
  let stack: RenderedStack;
  beforeAll(async () => {
    stack = await renderStack(name);
  });

  it("start through the wrapper only for Mattermost, Collabora and the PostgreSQL exporter; every other container keeps its own start", () => {
    const wrapped = stack.containers.filter((c) => c.entrypoint[0] === SECRETS_TO_ENV_PATH).map((c) => c.name);
    expect(wrapped.sort()).toEqual(
      stack.containers
        .filter((c) => c.name in WRAPPED)
        .map((c) => c.name)
        .sort(),
    );
    const withWrapperFile = stack.containers.filter((c) => c.files.some((f) => f.path === SECRETS_TO_ENV_PATH)).map((c) => c.name);
    expect(withWrapperFile.sort()).toEqual(wrapped.sort());
  });

  it("run the wrapper with the names of their secret files, then the image's own entrypoint and command", () => {
    for (const c of stack.containers.filter((c) => c.name in WRAPPED)) {
      const expected = WRAPPED[c.name];
      expect(Object.keys(c.secrets).sort(), c.name).toEqual(expected.secrets);
      expect(c.entrypoint, c.name).toEqual([SECRETS_TO_ENV_PATH, ...expected.secrets, "--", ...expected.entrypoint]);
      expect(c.command, c.name).toEqual(expected.command);
      // Each name the wrapper exports is found through its <VAR>_FILE, and its value is nowhere in env.
      for (const key of expected.secrets) {
        expect(c.env[`${key}_FILE`], `${c.name} ${key}`).toBe(`/run/secrets/${key}`);
        expect(c.env[key], `${c.name} ${key}`).toBeUndefined();
      }
    }
  });

  it("get the wrapper root-owned and read-only for them, on the writable root filesystem they had", () => {
    for (const c of stack.containers.filter((c) => c.name in WRAPPED)) {
      expect(
        c.files.find((f) => f.path === SECRETS_TO_ENV_PATH),
        c.name,
      ).toEqual({ path: SECRETS_TO_ENV_PATH, content: SECRETS_TO_ENV_SCRIPT, mode: "0555", owner: "0:0" });
      expect(c.readOnly, c.name).toBe(false);
    }
  });

  it("can read their secret files: owned by the user the image runs as", () => {
    for (const c of stack.containers.filter((c) => c.name in WRAPPED)) {
      const runsAs = (c.user ?? factsFor(c.image)?.imageUser ?? "").split(":")[0];
      expect(runsAs, c.name).toMatch(/^\d+$/);
      for (const key of Object.keys(c.secrets)) {
        const file = c.files.find((f) => f.path === `/run/secrets/${key}`);
        expect(file?.owner.split(":")[0], `${c.name} ${key}`).toBe(runsAs);
        expect(file?.mode, `${c.name} ${key}`).toBe("0400");
      }
    }
  });

  it("carry no hardening exception for secrets", () => {
    expect(stack.containers.filter((c) => "secretsInEnv" in c.exceptions).map((c) => c.name)).toEqual([]);
  });
});
