import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../stacks/schema";
import { Recorder } from "../../../stacks/render";
import { renderVariant, type StackFileConfig } from "../../helpers/rendered";

/** Render the local stack file with one change (each case is one mistake a volunteer could make). */
async function configErrorOf(change: (config: StackFileConfig) => void): Promise<{ message: string; registered: number }> {
  const recorder = new Recorder("local");
  try {
    await renderVariant("local", change, recorder);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { message: error.message, registered: recorder.resources.length };
  }
  throw new Error("expected a ConfigError");
}

const badConfigs: [string, (c: StackFileConfig) => void, string][] = [
  ["a missing domain", (c) => delete c["infra:domain"], "domain: is required"],
  ["a domain that is not a host name", (c) => (c["infra:domain"] = "Asso Example"), "domain: expected a lower-case DNS name"],
  [
    "a Docker host that is neither unix:// nor ssh://",
    (c) => (c["infra:docker"] = "tcp://10.0.0.1:2375"),
    "docker: expected unix:///var/run/docker.sock or ssh://user@host[:port]",
  ],
  ["a memory budget that is not a number", (c) => (c["infra:memoryBudgetMb"] = "lots"), "memoryBudgetMb: expected a whole number of MiB"],
  ["a negative memory budget", (c) => (c["infra:memoryBudgetMb"] = -1), "memoryBudgetMb: expected a positive number of MiB"],
  ["an unknown top-level setting", (c) => (c["infra:domian"] = "typo.localhost"), "domian: unknown setting"],
  ["an unknown service", (c) => (c["infra:services"].webmail = {}), "services.webmail: unknown setting"],
  ["an unknown proxy setting", (c) => (c["infra:services"].proxy.dashboard = true), "services.proxy.dashboard: unknown setting"],
  ["a proxy TLS mode that does not exist", (c) => (c["infra:services"].proxy.tls = "letsencrypt"), "services.proxy.tls:"],
  [
    "ACME without a contact email",
    (c) => (c["infra:services"].proxy.tls = "acme"),
    "acmeEmail: required when services.proxy.tls is 'acme'",
  ],
  [
    "an image on the floating latest tag",
    (c) => (c["infra:services"].proxy.image = "traefik:latest"),
    "services.proxy.image: the tag 'latest' is not a pin",
  ],
  ["an image without a tag", (c) => (c["infra:services"].proxy.image = "traefik"), "services.proxy.image: expected an image pinned by tag"],
  ["images neither built nor pinned", (c) => (c["infra:images"] = { build: false }), "images: expected { build: true } or { registry"],
  [
    "a registry pin without digest",
    (c) =>
      (c["infra:images"] = {
        registry: "registry.example.org/asso/infra",
        registryAuth: { username: "gitlab+deploy-token-1", password: { secure: "v1:ZXhhbXBsZQ==:c2VjcmV0" } },
        pins: { ldap: "v1" },
      }),
    "images.pins.ldap: expected <tag>@sha256:<64 hex digits>",
  ],
  [
    "a partner domain used twice",
    (c) => c["infra:partners"].push({ ...c["infra:partners"][0], id: "other" }),
    "partners.1.domain: duplicate domain; already used by partners.0",
  ],
  [
    "a partner domain that is not a host name",
    (c) => (c["infra:partners"][0].domain = "https://cloud.example.org"),
    "partners.0.domain: expected a lower-case DNS name",
  ],
  [
    "a partner admin email that is not an address",
    (c) => (c["infra:partners"][0].adminEmail = "admin(at)example.org"),
    "partners.0.adminEmail: expected an email address",
  ],
  ["a public address that is not IPv4", (c) => (c["infra:publicIpv4"] = "300.1.1.1"), "publicIpv4: expected an IPv4 address"],
];

describe("stack config errors", () => {
  it.each(badConfigs)("%s: names the key path and registers nothing", async (_case, change, expected) => {
    const { message, registered } = await configErrorOf(change);
    expect(message).toContain(expected);
    expect(registered).toBe(0);
  });

  it("reports every problem of a run together", async () => {
    const { message } = await configErrorOf((c) => {
      c["infra:domain"] = "not a domain";
      c["infra:memoryBudgetMb"] = 0;
      c["infra:services"].proxy.tls = "none";
    });
    expect(message).toContain("domain:");
    expect(message).toContain("memoryBudgetMb:");
    expect(message).toContain("services.proxy.tls:");
  });

  it("reports a duplicate partner even when another setting is wrong too", async () => {
    const { message } = await configErrorOf((c) => {
      c["infra:services"].proxy.tls = "none";
      c["infra:partners"].push({ ...c["infra:partners"][0], id: "other" });
    });
    expect(message).toContain("services.proxy.tls:");
    expect(message).toContain("partners.1.domain: duplicate domain; already used by partners.0");
  });

  it("prints the problems as a list, not a stack trace", async () => {
    const { message } = await configErrorOf((c) => (c["infra:domain"] = "x"));
    expect(message).toMatch(/^Invalid stack configuration:\n  - domain: /);
    expect(message).not.toMatch(/\n\s+at /);
  });
});
