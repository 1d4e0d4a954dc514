import { beforeAll, describe, expect, it } from "vitest";
import { SECRETS_CARRIER_LABEL, SECRETS_DIR, secretsOwner } from "../../../platform/container";
import { checkStack } from "../../../policy/rules";
import { formatText, toPlan } from "../../../stacks/plan-format";
import { listStacks, renderStack, type RenderedStack } from "../../../stacks/render";
import { secretFilesOf } from "../../helpers/rendered";

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
        const file = secretFilesOf(stack, c).find((f) => f.path === `${SECRETS_DIR}/${key}`);
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

  it("uploads nothing into a read-only container: the provider copies through '/', which Docker refuses on a read-only root", () => {
    expect(stack.containers.filter((c) => c.readOnly && c.files.length > 0).map((c) => c.name)).toEqual([]);
  });

  it("gives a read-only container with secrets one carrier, never started, that receives its files into the volume it mounts read-only", () => {
    const readers = stack.containers.filter((c) => c.readOnly && Object.keys(c.secrets).length > 0);
    for (const c of readers) {
      const carriers = stack.carriers.filter((k) => k.secretsFor === c.name);
      expect(
        carriers.map((k) => k.name),
        c.name,
      ).toEqual([`${c.name}-secrets`]);
      const [carrier] = carriers;
      expect(c.secretsCarrier).toBe(carrier.name);
      expect(
        c.volumes.find((v) => v.target === SECRETS_DIR),
        c.name,
      ).toEqual({
        source: `${c.name}-secrets`,
        target: SECRETS_DIR,
        readOnly: true,
        kind: "volume",
      });
      expect(carrier.volumes, carrier.name).toEqual([
        { source: `${c.name}-secrets`, target: SECRETS_DIR, readOnly: false, kind: "volume" },
      ]);
      // Every secret, and nothing else: the files the container would have had, same modes and owners.
      expect(carrier.files.map((f) => f.path).sort(), carrier.name).toEqual(Object.keys(c.secrets).map((key) => `${SECRETS_DIR}/${key}`));
      expect(carrier).toMatchObject({
        image: c.image,
        start: false,
        restart: "no",
        networks: [],
        ports: [],
        privileged: false,
        noNewPrivileges: true,
        capDrop: ["ALL"],
        capAdd: [],
        readOnly: false,
        service: c.service,
      });
      // A changed secret replaces the carrier (new id): the label then replaces the container, which reads its files at start.
      const resource = (name: string) => stack.resources.find((r) => r.type === "docker:index/container:Container" && r.name === name)!;
      expect(c.labels[SECRETS_CARRIER_LABEL]).toMatch(new RegExp(`^${carrier.name}-[0-9a-f]{12}$`));
      expect(resource(c.name).options.dependsOn).toContain(carrier.name);
      expect(resource(carrier.name).inputs).toMatchObject({ networkMode: "none", mustRun: false });
    }
    // Only the containers that need one.
    expect(stack.carriers.map((k) => k.secretsFor).sort()).toEqual(readers.map((c) => c.name).sort());
    expect(stack.containers.filter((c) => !c.readOnly && c.secretsCarrier !== null)).toEqual([]);
    expect(checkStack(stack.resources)).toEqual([]);
  });

  it("prints no secret file's content in the plan", () => {
    const plan = JSON.stringify(toPlan(stack));
    const files = stack.containers.flatMap((c) => Object.values(c.secrets));
    expect(files.filter((value) => plan.includes(value))).toEqual([]);
  });
});

describe("the read-only containers whose secret files a carrier writes", () => {
  it.each([
    ["local", ["account", "backup", "ldap", "monitoring-redis", "nextcloud-asso-redis", "nextcloud-transition-redis"]],
    ["pica01", ["agent-redis", "backup", "nextcloud-asso-redis", "nextcloud-transition-redis"]],
    ["pica02", ["account", "backup", "ldap", "ldap-acme", "mail-acme"]],
  ])("%s: %j", async (stackName, expected) => {
    const stack = await renderStack(stackName);
    expect(stack.carriers.map((k) => k.secretsFor).sort()).toEqual(expected);
    expect(stack.containers.filter((c) => c.readOnly && Object.keys(c.secrets).length > 0).map((c) => c.name)).toEqual(expected);
    // The plan lists them as part of their container: they never run, and use no memory of the budget.
    expect(
      toPlan(stack)
        .containers.filter((c) => c.secretsCarrier)
        .map((c) => [c.name, c.secretsCarrier]),
    ).toEqual(expected.map((name) => [name, `${name}-secrets`]));
    expect(toPlan(stack).containers.map((c) => c.name)).not.toContain(`${expected[0]}-secrets`);
    const text = formatText(toPlan(stack));
    for (const name of expected) expect(text).toContain(`  ${name} <- ${name}-secrets\n`);
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
