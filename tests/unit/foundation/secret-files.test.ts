import { beforeAll, describe, expect, it } from "vitest";
import { SECRETS_DIR, secretsOwner } from "../../../platform/container";
import { toPlan } from "../../../stacks/plan-format";
import { listStacks, renderStack, type RenderedStack } from "../../../stacks/render";

/**
 * Secrets reach containers as files (platform/container.ts `secretEnv`), never through the environment,
 * which `docker inspect` shows to anyone who may use the Docker API. Checked over every container of every
 * stack; tests/integration/hosts/secrets.test.ts inspects the running containers.
 */
describe.each(listStacks())("secrets of the containers of stack %s", (stackName) => {
  let stack: RenderedStack;
  beforeAll(async () => {
    stack = await renderStack(stackName);
  });

  it("puts no secret in any container's environment, not even inside a longer value", () => {
    const inEnv = stack.containers.flatMap((c) =>
      Object.entries(c.env)
        .filter(([, value]) => stack.secrets.some((secret) => value.includes(secret)))
        .map(([key]) => `${c.name}: ${key}`),
    );
    expect(inEnv).toEqual([]);
    // Not vacuous: the stack has secrets, and containers that read them.
    expect(stack.secrets.length).toBeGreaterThan(0);
    expect(stack.containers.some((c) => Object.keys(c.secrets).length > 0)).toBe(true);
  });

  it("writes each secret to /run/secrets/<VAR>, mode 0400, owned by a numeric uid:gid, and names it in <VAR>_FILE", () => {
    for (const c of stack.containers) {
      for (const [key, value] of Object.entries(c.secrets)) {
        const file = c.files.find((f) => f.path === `${SECRETS_DIR}/${key}`);
        expect(file, `${c.name} ${key}`).toMatchObject({ mode: "0400", content: value });
        expect(file?.owner, `${c.name} ${key}`).toMatch(/^\d+:\d+$/);
        expect(c.env[`${key}_FILE`], `${c.name} ${key}`).toBe(`${SECRETS_DIR}/${key}`);
        // A secret, or a file made of secrets (a .pgpass line).
        expect(
          stack.secrets.some((secret) => value.includes(secret)),
          `${c.name} ${key}`,
        ).toBe(true);
      }
    }
  });

  it("gives a read-only container with secrets a volume of its own at /run/secrets (uploads cannot write its root filesystem)", () => {
    for (const c of stack.containers.filter((c) => c.readOnly && Object.keys(c.secrets).length > 0)) {
      expect(
        c.volumes.find((v) => v.target === SECRETS_DIR),
        c.name,
      ).toEqual({
        source: `${c.name}-secrets`,
        target: SECRETS_DIR,
        readOnly: false,
        kind: "volume",
      });
    }
  });

  it("prints no secret file's content in the plan", () => {
    const plan = JSON.stringify(toPlan(stack));
    const files = stack.containers.flatMap((c) => Object.values(c.secrets));
    expect(files.filter((value) => plan.includes(value))).toEqual([]);
  });
});

describe("the owner of a container's secret files", () => {
  it.each([
    [undefined, undefined, ["0", "0"]],
    ["root", undefined, ["0", "0"]],
    ["2000:2000", undefined, ["2000", "2000"]],
    ["999", undefined, ["999", "999"]],
    ["openldap", "100:101", ["100", "101"]],
  ])("user %s with secretsOwner %s: %j", (user, owner, expected) => {
    expect(secretsOwner("c", user, owner)).toEqual(expected);
  });

  it("refuses a user name without a numeric secretsOwner, saying why", () => {
    expect(() => secretsOwner("ldap", "openldap", undefined)).toThrow(
      "container ldap: secretsOwner must be uid:gid in numbers (its user 'openldap' is a name, which the Docker provider cannot resolve in the image)",
    );
  });
});
