import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { alertRules } from "../../../monitoring/config";
import { AlertThresholds } from "../../../monitoring/settings";
import { deriveProbes, moduleForPort, type ProbedContainer } from "../../../monitoring/probes";

const container = (name: string, service: string, more: Partial<ProbedContainer> = {}): ProbedContainer => ({
  name,
  service,
  routes: [],
  publishedPorts: [],
  ...more,
});

describe("moduleForPort", () => {
  it.each([
    [25, "smtp_starttls"],
    [587, "smtp_starttls"],
    [465, "smtps"],
    [993, "imaps"],
    [636, "tls"],
    [4190, "tcp"],
    [80, undefined],
    [443, undefined],
  ])("checks port %i with %s", (port, module) => {
    expect(moduleForPort(port)).toBe(module);
  });
});

describe("deriveProbes", () => {
  const mail = container("mail-postfix", "mail", { publishedPorts: [25, 465, 587] });
  const dovecot = container("mail-dovecot", "mail", { publishedPorts: [993] });
  const chat = container("mattermost", "mattermost", { routes: [{ host: "chat.example.org" }] });
  const directory = { service: "ldap", host: "ldap.example.org", port: 636 };

  const cases: [string, ProbedContainer[], typeof directory | undefined, Record<string, { enabled: boolean }>, string[]][] = [
    ["probes each route over HTTPS", [chat], undefined, {}, ["https://chat.example.org/"]],
    [
      "probes each published port with its protocol",
      [mail, dovecot],
      undefined,
      {},
      ["imaps://mail-dovecot:993", "smtp+starttls://mail-postfix:25", "smtp+starttls://mail-postfix:587", "smtps://mail-postfix:465"],
    ],
    ["probes the directory on its network when its port is not published", [], directory, {}, ["ldaps://ldap.example.org:636"]],
    [
      "probes a published directory once, by its certificate's name",
      [container("ldap", "ldap", { publishedPorts: [636] })],
      directory,
      {},
      ["ldaps://ldap.example.org:636"],
    ],
    [
      "drops the probes of a service switched off by override",
      [chat, dovecot],
      undefined,
      { mattermost: { enabled: false } },
      ["imaps://mail-dovecot:993"],
    ],
    [
      "probes nothing for the proxy's own ports (the routes are probed)",
      [container("proxy", "proxy", { publishedPorts: [80, 443] })],
      undefined,
      {},
      [],
    ],
  ];

  it.each(cases)("%s", (_, containers, dir, overrides, expected) => {
    expect(deriveProbes(containers, dir, overrides).map((p) => p.name)).toEqual(expected);
  });

  it("probes a route behind a login for its refusal of a request without credentials (https_login)", () => {
    const metrics = container("monitoring", "monitoring", {
      routes: [{ host: "metrics.example.org", forwardAuth: { address: "http://account:8081/auth/tech", userHeader: "X-Forwarded-User" } }],
    });
    expect(deriveProbes([chat, metrics], undefined)).toEqual([
      { name: "https://chat.example.org/", service: "mattermost", module: "https", target: "https://chat.example.org/" },
      { name: "https://metrics.example.org/", service: "monitoring", module: "https_login", target: "https://metrics.example.org/" },
    ]);
  });

  it("labels each probe with its service and module", () => {
    expect(deriveProbes([dovecot], undefined)).toEqual([
      { name: "imaps://mail-dovecot:993", service: "mail", module: "imaps", target: "mail-dovecot:993" },
    ]);
  });
});

describe("alertRules", () => {
  const rules = (probes: Record<string, { enabled: boolean; downForMinutes?: number }>) =>
    (
      parse(alertRules({ alerts: AlertThresholds.parse({}), probes, evaluationIntervalSeconds: 60 })) as {
        groups: { rules: { alert: string; expr: string; for: string }[] }[];
      }
    ).groups[0].rules.filter((r) => r.alert === "ServiceDown");

  it("waits the default delay for every service when none has its own", () => {
    expect(rules({})).toEqual([expect.objectContaining({ expr: "probe_success{} == 0", for: "300s" })]);
  });

  it("gives a service its own delay and leaves it out of the default rule", () => {
    expect(rules({ nextcloud: { enabled: true, downForMinutes: 15 } }).map((r) => [r.expr, r.for])).toEqual([
      ['probe_success{service!~"nextcloud"} == 0', "300s"],
      ['probe_success{service="nextcloud"} == 0', "900s"],
    ]);
  });
});
