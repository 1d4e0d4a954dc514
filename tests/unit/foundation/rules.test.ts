import { describe, expect, it } from "vitest";
import type { ServiceDeclaration } from "../../../platform/service";
import { buildOrder, missingDependencies } from "../../../stacks/dependencies";
import {
  acmeNeedsEmail,
  dependenciesPresent,
  duplicatePartners,
  metricsUiNeedsLogin,
  ownImagesPinned,
  partnerOnAssociationDomain,
  provisioningMatchesHost,
  smtpPasswordWithoutDirectory,
} from "../../../stacks/rules";

/** The cross-field rules of a stack file, each a pure function: one table per rule, the exact message a person reads. */

const partner = (id: string, domain: string) => ({ id, domain, name: id, adminEmail: `admin@${domain}`, defaultQuota: "5 GB" });

describe.each([
  { case: "distinct partners", partners: [partner("aa", "a.org"), partner("bb", "b.org")], problems: [] },
  {
    case: "a domain used twice",
    partners: [partner("aa", "a.org"), partner("bb", "a.org")],
    problems: [{ path: [1, "domain"], message: "duplicate domain; already used by partners.0" }],
  },
  {
    case: "an id used twice",
    partners: [partner("aa", "a.org"), partner("aa", "b.org")],
    problems: [{ path: [1, "id"], message: "duplicate id; each partner needs its own" }],
  },
])("duplicatePartners: $case", ({ partners, problems }) => {
  it("reports exactly these problems", () => expect(duplicatePartners(partners)).toEqual(problems));
});

describe.each([
  { case: "partners on their own domains", partners: [partner("aa", "cloud.a.org")], problems: [] },
  {
    case: "a partner on the association's cloud domain",
    partners: [partner("aa", "cloud.asso.org")],
    problems: [{ path: ["partners", 0, "domain"], message: "duplicate domain; already used by the association's own Nextcloud" }],
  },
])("partnerOnAssociationDomain: $case", ({ partners, problems }) => {
  it("reports exactly these problems", () => expect(partnerOnAssociationDomain({ domain: "asso.org", partners })).toEqual(problems));
});

describe.each([
  { case: "acme with a contact", stack: { acmeEmail: "tech@asso.org", services: { proxy: { tls: "acme" } } }, problems: [] },
  { case: "self-signed without a contact", stack: { services: { proxy: { tls: "self-signed" } } }, problems: [] },
  {
    case: "acme without a contact",
    stack: { services: { proxy: { tls: "acme" } } },
    problems: [{ path: ["acmeEmail"], message: "required when services.proxy.tls is 'acme'" }],
  },
])("acmeNeedsEmail: $case", ({ stack, problems }) => {
  it("reports exactly these problems", () => expect(acmeNeedsEmail(stack)).toEqual(problems));
});

describe.each([
  { case: "local without provisioning", stack: { docker: "unix:///var/run/docker.sock" }, problems: [] },
  { case: "remote with provisioning", stack: { docker: "ssh://deploy@h.org", provisioning: {} }, problems: [] },
  {
    case: "remote without provisioning",
    stack: { docker: "ssh://deploy@h.org" },
    problems: [{ path: ["provisioning"], message: "required when docker is ssh://... (the host is provisioned over SSH)" }],
  },
  {
    case: "local with provisioning",
    stack: { docker: "unix:///var/run/docker.sock", provisioning: {} },
    problems: [{ path: ["provisioning"], message: "only for remote hosts (docker: ssh://...); remove it from this stack" }],
  },
])("provisioningMatchesHost: $case", ({ stack, problems }) => {
  it("reports exactly these problems", () => expect(provisioningMatchesHost(stack)).toEqual(problems));
});

const MISSING = "required when the directory does not run on this host (pulumi config set --secret --path ...)";
describe.each([
  { case: "the directory on this host", services: { ldap: {}, mattermost: { smtp: {} } }, problems: [] },
  { case: "a password for the sender", services: { nextcloud: { smtp: { password: "x" } } }, problems: [] },
  {
    case: "senders without the directory or a password",
    services: { mattermost: { smtp: {} }, nextcloud: { smtp: {} } },
    problems: [
      { path: ["services", "mattermost", "smtp", "password"], message: MISSING },
      { path: ["services", "nextcloud", "smtp", "password"], message: MISSING },
    ],
  },
])("smtpPasswordWithoutDirectory: $case", ({ services, problems }) => {
  it("reports exactly these problems", () => expect(smtpPasswordWithoutDirectory({ services })).toEqual(problems));
});

const PIN = "0000000@sha256:" + "a".repeat(64);
const PIN_MESSAGE =
  "required: this host runs the image; CI writes the pin after building it (npx tsx ci/pin-image.ts --add, see ci/README.md)";
type Images = { build: true } | { pins: Record<string, string> };
describe.each<{ case: string; images: Images; services: Record<string, unknown>; problems: unknown[] }>([
  { case: "images built on the host", images: { build: true }, services: { ldap: {} }, problems: [] },
  { case: "every run image pinned", images: { pins: { ldap: PIN, acme: PIN } }, services: { ldap: {} }, problems: [] },
  { case: "services running none of our images", images: { pins: {} }, services: { collabora: {} }, problems: [] },
  {
    case: "the directory's images not pinned (slapd's, and the ACME client's that keeps its certificate)",
    images: { pins: {} },
    services: { ldap: {} },
    problems: [
      { path: ["images", "pins", "ldap"], message: PIN_MESSAGE },
      { path: ["images", "pins", "acme"], message: PIN_MESSAGE },
    ],
  },
])("ownImagesPinned: $case", ({ images, services, problems }) => {
  it("reports exactly these problems", () => expect(ownImagesPinned({ images, services })).toEqual(problems));
});

describe.each([
  { case: "mail with the directory", services: { ldap: {}, mail: {} }, problems: [] },
  { case: "web services alone (the directory and mail are optional to them)", services: { mattermost: {}, nextcloud: {} }, problems: [] },
  {
    case: "mail without the directory",
    services: { mail: {} },
    problems: [
      {
        path: ["services", "mail"],
        message:
          "needs the directory on the same host, which services.ldap provides; enable services.ldap in this stack, or remove services.mail",
      },
    ],
  },
])("dependenciesPresent: $case", ({ services, problems }) => {
  it("reports exactly these problems", () => expect(dependenciesPresent({ services })).toEqual(problems));
});

describe.each([
  { case: "the UI left to its default without the account page", services: { monitoring: {} }, problems: [] },
  { case: "the UI asked for beside the account page", services: { monitoring: { ui: { enabled: true } }, account: {} }, problems: [] },
  { case: "the UI turned off without the account page", services: { monitoring: { ui: { enabled: false } } }, problems: [] },
  {
    case: "the UI asked for without the account page",
    services: { monitoring: { ui: { enabled: true } } },
    problems: [
      {
        path: ["services", "monitoring", "ui", "enabled"],
        message:
          "the metrics UI logs in through the account page's tech login, which this host does not run: enable services.account here, or remove ui.enabled",
      },
    ],
  },
])("metricsUiNeedsLogin: $case", ({ services, problems }) => {
  it("reports exactly these problems", () => expect(metricsUiNeedsLogin({ services })).toEqual(problems));
});

describe("service build order", () => {
  const directory: ServiceDeclaration = { name: "dir", summary: "", settings: undefined as never, provides: ["directory"] };
  const mail: ServiceDeclaration = {
    name: "mail",
    summary: "",
    settings: undefined as never,
    needs: { directory: "required" },
    provides: ["mail"],
  };
  const web: ServiceDeclaration = {
    name: "web",
    summary: "",
    settings: undefined as never,
    needs: { mail: "optional", office: "optional" },
  };
  const office: ServiceDeclaration = { name: "office", summary: "", settings: undefined as never, provides: ["office"] };

  it("puts every provider before the services that need it, whatever the order given", () => {
    expect(buildOrder([web, office, mail, directory]).map((s) => s.name)).toEqual(["dir", "mail", "office", "web"]);
  });

  it("keeps the given order between services that do not depend on each other", () => {
    expect(buildOrder([office, directory]).map((s) => s.name)).toEqual(["office", "dir"]);
  });

  it("names the services of a dependency cycle (a mistake in the declarations)", () => {
    const a: ServiceDeclaration = {
      name: "a",
      summary: "",
      settings: undefined as never,
      needs: { mail: "required" },
      provides: ["directory"],
    };
    const b: ServiceDeclaration = {
      name: "b",
      summary: "",
      settings: undefined as never,
      needs: { directory: "required" },
      provides: ["mail"],
    };
    expect(() => buildOrder([a, b])).toThrow("service dependency cycle: a -> b -> a");
  });

  it("names every service that could provide a missing endpoint", () => {
    const otherDirectory = { ...directory, name: "dir2" };
    expect(missingDependencies([mail], [directory, otherDirectory, mail])).toEqual([
      {
        path: ["services", "mail"],
        message:
          "needs the directory on the same host, which services.dir or services.dir2 provides; enable services.dir or services.dir2 in this stack, or remove services.mail",
      },
    ]);
  });
});
