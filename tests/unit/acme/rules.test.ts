import { describe, expect, it } from "vitest";
import { AcmeSettings, LETS_ENCRYPT } from "../../../platform/acme-settings";
import { Recorder } from "../../../stacks/render";
import { acmeDnsVariables, acmeNeedsEmail, acmeSettingsPresent } from "../../../stacks/rules";
import { ConfigError, secretPaths } from "../../../stacks/schema";
import { renderVariant, type StackFileConfig } from "../../helpers/rendered";

/**
 * The stack rules of the directory's and the mail server's ACME certificates (stacks/rules.ts): a table
 * per rule with the exact message a volunteer reads, then the same mistakes made in a real stack file.
 */

const proxy = (tls: string) => ({ proxy: { tls } });
const OVH = {
  provider: "ovh",
  env: { OVH_ENDPOINT: "ovh-eu" },
  credentials: { OVH_APPLICATION_KEY: "k", OVH_APPLICATION_SECRET: "s", OVH_CONSUMER_KEY: "c" },
};
const setSecret = (name: string) => `pulumi config set --secret --path 'infra:acme.dns.credentials.${name}' ...`;

describe.each([
  { case: "nothing from ACME", stack: { services: { ...proxy("self-signed"), ldap: { tls: "self-signed" } } }, problems: [] },
  {
    case: "the directory from ACME, with a contact",
    stack: { acmeEmail: "tech@asso.org", services: { ...proxy("self-signed"), ldap: { tls: "acme" } } },
    problems: [],
  },
  {
    case: "the directory from ACME without a contact",
    stack: { services: { ...proxy("self-signed"), ldap: { tls: "acme" } } },
    problems: [{ path: ["acmeEmail"], message: "required when services.ldap.tls is 'acme'" }],
  },
  {
    case: "mail from ACME without a contact",
    stack: { services: { ...proxy("self-signed"), mail: { tls: { source: "acme" } } } },
    problems: [{ path: ["acmeEmail"], message: "required when services.mail.tls.source is 'acme'" }],
  },
  {
    case: "the proxy and the directory from ACME without a contact: one problem, naming the proxy first",
    stack: { services: { ...proxy("acme"), ldap: { tls: "acme" } } },
    problems: [{ path: ["acmeEmail"], message: "required when services.proxy.tls is 'acme'" }],
  },
])("acmeNeedsEmail: $case", ({ stack, problems }) => {
  it("reports exactly these problems", () => expect(acmeNeedsEmail(stack)).toEqual(problems));
});

const HOW =
  "name the registrar's DNS API in acme.dns.provider (ovh, ...) with its credentials (docs/contracts.md, Certificates), or choose self-signed";
describe.each([
  {
    case: "self-signed directory and mail",
    stack: { services: { ldap: { tls: "self-signed" }, mail: { tls: { source: "self-signed" } } } },
    problems: [],
  },
  { case: "mail from a host directory", stack: { services: { mail: { tls: { source: "directory" } } } }, problems: [] },
  { case: "ACME with its settings", stack: { acme: { dns: OVH }, services: { ldap: { tls: "acme" } } }, problems: [] },
  {
    case: "the directory from ACME without settings",
    stack: { services: { ldap: { tls: "acme" }, mail: { tls: { source: "self-signed" } } } },
    problems: [{ path: ["acme"], message: `required when services.ldap.tls is 'acme': ${HOW}` }],
  },
  {
    case: "both from ACME without settings",
    stack: { services: { ldap: { tls: "acme" }, mail: { tls: { source: "acme" } } } },
    problems: [{ path: ["acme"], message: `required when services.ldap.tls or services.mail.tls.source is 'acme': ${HOW}` }],
  },
])("acmeSettingsPresent: $case", ({ stack, problems }) => {
  it("reports exactly these problems", () => expect(acmeSettingsPresent(stack)).toEqual(problems));
});

type Dns = { provider: string; env: Record<string, string>; credentials: Record<string, string> };
describe.each<{ case: string; dns: Dns; problems: unknown[] }>([
  { case: "OVH with its four variables", dns: OVH, problems: [] },
  {
    case: "httpreq with an endpoint and a password",
    dns: { provider: "httpreq", env: { HTTPREQ_ENDPOINT: "http://hook:8080" }, credentials: { HTTPREQ_PASSWORD: "p" } },
    problems: [],
  },
  {
    case: "a provider we do not list, taken as given",
    dns: { provider: "gandiv5", env: {}, credentials: { GANDIV5_PERSONAL_ACCESS_TOKEN: "t" } },
    problems: [],
  },
  {
    case: "OVH without its endpoint and consumer key",
    dns: { provider: "ovh", env: {}, credentials: { OVH_APPLICATION_KEY: "k", OVH_APPLICATION_SECRET: "s" } },
    problems: [
      { path: ["acme", "dns", "env", "OVH_ENDPOINT"], message: "required by lego's ovh provider" },
      {
        path: ["acme", "dns", "credentials", "OVH_CONSUMER_KEY"],
        message: `required by lego's ovh provider (${setSecret("OVH_CONSUMER_KEY")})`,
      },
    ],
  },
  {
    case: "an OVH secret among the plain variables",
    dns: {
      ...OVH,
      env: { OVH_ENDPOINT: "ovh-eu", OVH_APPLICATION_SECRET: "s" },
      credentials: { OVH_APPLICATION_KEY: "k", OVH_CONSUMER_KEY: "c" },
    },
    problems: [
      {
        path: ["acme", "dns", "env", "OVH_APPLICATION_SECRET"],
        message: `holds a secret: move it to acme.dns.credentials, encrypted (${setSecret("OVH_APPLICATION_SECRET")})`,
      },
    ],
  },
  {
    case: "a token of another provider among the plain variables",
    dns: { provider: "gandiv5", env: { GANDIV5_PERSONAL_ACCESS_TOKEN: "t" }, credentials: {} },
    problems: [
      {
        path: ["acme", "dns", "env", "GANDIV5_PERSONAL_ACCESS_TOKEN"],
        message: `holds a secret: move it to acme.dns.credentials, encrypted (${setSecret("GANDIV5_PERSONAL_ACCESS_TOKEN")})`,
      },
    ],
  },
  {
    case: "a variable set twice",
    dns: { ...OVH, env: { ...OVH.env, OVH_CONSUMER_KEY: "c" } },
    problems: [{ path: ["acme", "dns", "env", "OVH_CONSUMER_KEY"], message: "also set in acme.dns.credentials; keep one" }],
  },
  {
    case: "the container's own variables",
    dns: { ...OVH, env: { ...OVH.env, LEGO_CA_CERTIFICATES: "/ca.pem" }, credentials: { ...OVH.credentials, ACME_EMAIL: "x" } },
    problems: [
      { path: ["acme", "dns", "env", "LEGO_CA_CERTIFICATES"], message: "is set by the ACME container itself; remove it" },
      { path: ["acme", "dns", "credentials", "ACME_EMAIL"], message: "is set by the ACME container itself; remove it" },
    ],
  },
])("acmeDnsVariables: $case", ({ dns, problems }) => {
  it("reports exactly these problems", () => expect(acmeDnsVariables({ acme: { dns } })).toEqual(problems));
});

describe("AcmeSettings", () => {
  it("documents its defaults: Let's Encrypt production, renewal 30 days before expiry, full propagation", () => {
    const settings = AcmeSettings.parse({ dns: { provider: "ovh" } });
    expect(settings).toMatchObject({
      server: LETS_ENCRYPT,
      renewDaysBefore: 30,
      memoryMb: 64,
      dns: { provider: "ovh", env: {}, credentials: {}, completePropagation: true },
    });
    expect(LETS_ENCRYPT).toBe("https://acme-v02.api.letsencrypt.org/directory");
  });

  it.each([
    [{ dns: { provider: "OVH" } }, "expected a lego DNS provider code such as ovh (lego dnshelp lists them)"],
    [{ server: "http://acme.example.org/directory", dns: { provider: "ovh" } }, "expected the https:// URL of an ACME directory"],
    [
      { dns: { provider: "ovh", env: { "ovh-endpoint": "ovh-eu" } } },
      "expected an environment variable name such as OVH_ENDPOINT (lego dnshelp -c <provider>)",
    ],
    [{ dns: { provider: "ovh", resolvers: ["9.9.9.9"] } }, "expected a DNS server as host:port, e.g. 9.9.9.9:53"],
    [{ serverCa: "not a certificate", dns: { provider: "ovh" } }, "expected a PEM certificate"],
    [{ renewDaysBefore: 90, dns: { provider: "ovh" } }, "expected 1 to 60 days"],
  ])("refuses %j", (settings, message) => {
    const result = AcmeSettings.safeParse(settings);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toBe(message);
  });
});

/** The pica02 stack file with one change: each case is a mistake a volunteer could make. */
async function configErrorOf(change: (config: StackFileConfig) => void): Promise<{ message: string; registered: number }> {
  const recorder = new Recorder("pica02");
  try {
    await renderVariant("pica02", change, recorder);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { message: error.message, registered: recorder.resources.length };
  }
  throw new Error("expected a ConfigError");
}

describe("ACME mistakes in a stack file", () => {
  it.each<[string, (c: StackFileConfig) => void, string]>([
    [
      "the ACME settings left out",
      (c) => delete c["infra:acme"],
      `acme: required when services.ldap.tls or services.mail.tls.source is 'acme': ${HOW}`,
    ],
    ["no contact address", (c) => delete c["infra:acmeEmail"], "acmeEmail: required when services.proxy.tls is 'acme'"],
    [
      "an OVH credential in plain text",
      (c) => (c["infra:acme"].dns.credentials.OVH_CONSUMER_KEY = "plain-consumer-key"),
      "acme.dns.credentials.OVH_CONSUMER_KEY: is written in plain text; expected a secret (pulumi config set --secret --path '",
    ],
    [
      "an OVH credential missing",
      (c) => delete c["infra:acme"].dns.credentials.OVH_APPLICATION_SECRET,
      "acme.dns.credentials.OVH_APPLICATION_SECRET: required by lego's ovh provider",
    ],
    [
      "a directory TLS mode that does not exist",
      (c) => (c["infra:services"].ldap.tls = "letsencrypt"),
      "services.ldap.tls: expected acme or self-signed",
    ],
  ])("%s: names the key path and registers nothing", async (_case, change, expected) => {
    const { message, registered } = await configErrorOf(change);
    expect(message).toContain(expected);
    expect(registered).toBe(0);
  });

  it("knows the credentials are secrets wherever the stack file puts them", () => {
    const raw = { acme: { dns: { provider: "x", env: { X_ENDPOINT: "e" }, credentials: { X_TOKEN: "t", X_SECRET: "s" } } } };
    expect(secretPaths(raw)).toEqual(["acme.dns.credentials.X_TOKEN", "acme.dns.credentials.X_SECRET"]);
  });
});
