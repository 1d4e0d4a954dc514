import { describe, expect, it } from "vitest";
import { checkContainer, checkDataIsolation, checkImage, checkStack } from "../../../policy/rules";
import { renderStack } from "../../../stacks/render";

/** A container as platform/container.ts renders it; each case below breaks one rule. */
async function goodContainer(): Promise<Record<string, any>> {
  const rendered = await renderStack("local");
  const proxy = rendered.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "proxy");
  return structuredClone(proxy!.inputs);
}

const withLabel = (inputs: Record<string, any>, label: string, value: string) => ({
  ...inputs,
  labels: [...inputs.labels, { label, value }],
});
const withoutLabel = (inputs: Record<string, any>, label: string) => ({
  ...inputs,
  labels: inputs.labels.filter((l: { label: string }) => l.label !== label),
});

const badContainers: [string, (c: Record<string, any>) => Record<string, any>, string][] = [
  ["no-privileged", (c) => ({ ...c, privileged: true }), "runs privileged"],
  ["no-new-privileges", (c) => ({ ...c, securityOpts: [] }), "lacks security option no-new-privileges:true"],
  ["drop-all-capabilities", (c) => ({ ...c, capabilities: { drops: ["NET_RAW"], adds: [] } }), "does not drop ALL capabilities"],
  ["justified-capabilities", (c) => ({ ...c, capabilities: { drops: ["ALL"], adds: ["SYS_ADMIN"] } }), "adds SYS_ADMIN without a reason"],
  ["memory-limit", (c) => ({ ...c, memory: undefined }), "has no memory limit"],
  ["healthcheck", (c) => ({ ...c, healthcheck: undefined }), "has no healthcheck"],
  ["restart-policy", (c) => ({ ...c, restart: "always" }), "restart is 'always', expected 'unless-stopped'"],
  ["log-rotation", (c) => ({ ...c, logOpts: {} }), "logs are not json-file with max-size and max-file"],
  ["image-by-id", (c) => ({ ...c, image: "traefik:v3.3.5" }), "image 'traefik:v3.3.5' is a name, not an image id"],
  ["published-ports", (c) => withoutLabel(c, "infra.exception.publishPorts"), "publishes ports without the publishPorts exception"],
  ["docker-socket", (c) => withoutLabel(c, "infra.exception.dockerSocket"), "mounts the Docker socket without the dockerSocket exception"],
  [
    "docker-socket",
    (c) => ({ ...c, volumes: c.volumes.map((v: Record<string, any>) => ({ ...v, readOnly: false })) }),
    "mounts the Docker socket writable",
  ],
  [
    "secrets-as-files",
    (c) => ({ ...c, envs: [...(c.envs ?? []), "LDAP_BIND_PASSWORD=hunter2"] }),
    "has credentials in env (LDAP_BIND_PASSWORD): hand them as files (secretEnv)",
  ],
  [
    "secrets-as-files",
    // The label that once excused a secret in env excuses nothing now.
    (c) =>
      withLabel({ ...c, envs: [...(c.envs ?? []), "SMTP_PASSWORD=x", "password=y"] }, "infra.exception.secretsInEnv", "password: env only"),
    "has credentials in env (SMTP_PASSWORD, password): hand them as files (secretEnv)",
  ],
];

describe("hardening policies", () => {
  it("accept the container platform/container.ts renders", async () => {
    expect(checkContainer("proxy", await goodContainer())).toEqual([]);
  });

  it.each(badContainers)("%s: reports a container that %s", async (policy, breakRule, message) => {
    const violations = checkContainer("bad", breakRule(await goodContainer()));
    expect(violations).toHaveLength(1);
    expect(violations[0].policy).toBe(policy);
    expect(violations[0].message).toContain(message);
  });

  describe("secrets-carrier", () => {
    /** ldap's carrier as platform/container.ts renders it. */
    async function carrier(): Promise<Record<string, any>> {
      const rendered = await renderStack("local");
      return structuredClone(
        rendered.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "ldap-secrets")!.inputs,
      );
    }

    it("accepts the carrier platform/container.ts renders: never started, no healthcheck needed", async () => {
      const c = await carrier();
      expect(c.healthcheck).toBeUndefined();
      expect(checkContainer("ldap-secrets", c)).toEqual([]);
    });

    it.each<[string, (c: Record<string, any>) => Record<string, any>, string]>([
      ["starts", (c) => ({ ...c, start: true }), "is a secrets carrier that starts"],
      ["must run", (c) => ({ ...c, mustRun: true }), "is a secrets carrier that must run"],
      ["has a network", (c) => ({ ...c, networkMode: "bridge" }), "is a secrets carrier with a network"],
      ["joins a network", (c) => ({ ...c, networksAdvanced: [{ name: "directory" }] }), "is a secrets carrier on networks"],
      ["publishes a port", (c) => ({ ...c, ports: [{ internal: 1, external: 1 }] }), "is a secrets carrier that publishes ports"],
      [
        "adds a capability",
        (c) => withLabel({ ...c, capabilities: { drops: ["ALL"], adds: ["CHOWN"] } }, "infra.cap.CHOWN", "why"),
        "is a secrets carrier with capabilities",
      ],
      [
        "mounts another volume",
        (c) => ({ ...c, volumes: [...c.volumes, { volumeName: "ldap-data", containerPath: "/var/lib/ldap" }] }),
        "is a secrets carrier with a mount other than its secrets volume",
      ],
      ["restarts", (c) => ({ ...c, restart: "unless-stopped" }), "restart is 'unless-stopped', expected 'no'"],
    ])("reports a carrier that %s", async (_, breakRule, message) => {
      const violations = checkContainer("bad", breakRule(await carrier()));
      // Each break alone (a published port also breaks published-ports).
      expect(violations.map((v) => v.message)).toContain(`container ldap-secrets ${message}`);
    });

    it("reports a container never started that is no carrier, and a carrier label does not excuse a healthcheck elsewhere", async () => {
      const c = await goodContainer();
      expect(checkContainer("bad", { ...c, start: false }).map((v) => v.policy)).toContain("secrets-carrier");
      const disguised = checkContainer("bad", withLabel({ ...c, healthcheck: undefined }, "infra.secrets-for", "proxy"));
      expect(disguised.map((v) => v.policy)).toContain("secrets-carrier");
    });
  });

  it("secrets-as-files: accept a secret as a file (<VAR>_FILE)", async () => {
    const c = await goodContainer();
    const envs = [...(c.envs ?? []), "LDAP_BIND_PASSWORD_FILE=/run/secrets/LDAP_BIND_PASSWORD", "password_FILE=/run/secrets/password"];
    expect(checkContainer("ok", { ...c, envs })).toEqual([]);
  });

  it("accept a capability added back with its reason", async () => {
    const c = withLabel(await goodContainer(), "infra.cap.CHOWN", "the entrypoint fixes volume ownership");
    expect(checkContainer("ok", { ...c, capabilities: { drops: ["ALL"], adds: ["CHOWN"] } })).toEqual([]);
  });

  it.each([
    ["postgres", "is not pinned by a version tag"],
    ["postgres:latest", "is not pinned by a version tag"],
  ])("pinned-image: reports the image %s", (ref, message) => {
    expect(checkImage("image", { name: ref })[0]?.message).toContain(message);
  });

  it("pinned-image: accepts a tag with a digest", () => {
    expect(checkImage("image", { name: `postgres:16.4@sha256:${"a".repeat(64)}` })).toEqual([]);
  });

  it("data-on-internal-networks: reports a database on a network with a route out", async () => {
    const db = withLabel(withoutLabel(await goodContainer(), "infra.role"), "infra.role", "database");
    const resources = [
      { type: "docker:index/network:Network", name: "network-edge", inputs: { name: "edge", internal: false } },
      { type: "docker:index/container:Container", name: "db", inputs: { ...db, name: "db", networksAdvanced: [{ name: "edge" }] } },
    ];
    expect(checkDataIsolation(resources)).toEqual([
      { policy: "data-on-internal-networks", resource: "db", message: "database container db joins network edge, which is not internal" },
    ]);
    expect(checkStack(resources).map((v) => v.policy)).toContain("data-on-internal-networks");
  });
});
