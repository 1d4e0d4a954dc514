import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { RenderedStack } from "../../../stacks/render";
import { ConfigError } from "../../../stacks/schema";
import { containerOf, renderVariant } from "../../helpers/rendered";
import { renderStack } from "../../../stacks/render";

/** The monitoring of the rendered local stack: what it probes is derived from the other services. */

const MONITORING = [
  "monitoring",
  "monitoring-alerts",
  "monitoring-alertmanager",
  "monitoring-blackbox",
  "monitoring-node",
  "monitoring-containers",
  "monitoring-mail-queue",
];

function configFile(stack: RenderedStack, container: string, file: string): any {
  const found = containerOf(stack, container).files.find((f) => f.path.endsWith(`/${file}`));
  if (!found) throw new Error(`${container} has no ${file}`);
  return parse(found.content);
}

function probeLabels(stack: RenderedStack): Record<string, string>[] {
  const scrape = configFile(stack, "monitoring", "scrape.yml") as {
    scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[];
  };
  return (scrape.scrape_configs.find((job) => job.job_name === "probe")?.static_configs ?? []).map((s) => s.labels);
}

describe("monitoring of the local stack", () => {
  let local: RenderedStack;
  beforeAll(async () => {
    local = await renderStack("local");
  });

  it("probes every route of the plan over HTTPS", () => {
    const probed = probeLabels(local).map((l) => l.probe);
    const routes = local.routes.map((r) => `https://${new URL(r.url).hostname}/`);
    expect(routes.length).toBeGreaterThan(3);
    expect(probed).toEqual(expect.arrayContaining(routes));
  });

  it("probes every port the mail server publishes, and the directory", () => {
    const probed = probeLabels(local).map((l) => l.probe);
    const mailPorts = local.containers
      .filter((c) => c.name.startsWith("mail-") && c.ports.length > 0)
      .flatMap((c) => c.ports.map((p) => `${c.name}:${p.container}`));
    for (const target of mailPorts.filter((t) => !t.endsWith(":4190")))
      expect(
        probed.some((p) => p.endsWith(`://${target}`)),
        target,
      ).toBe(true);
    expect(probed).toContain("ldaps://ldap.asso.localhost:636");
  });

  it("adds a new partner's route to the probes with no other change", async () => {
    const more = await renderVariant("local", (c) =>
      c["infra:partners"].push({
        id: "other",
        name: "Other",
        domain: "cloud.other.localhost",
        adminEmail: "a@other.localhost",
        defaultQuota: "1 GB",
      }),
    );
    expect(probeLabels(more).map((l) => l.probe)).toContain("https://cloud.other.localhost/");
  });

  it("watches the health of every long-running container of the host, the proxy's and its own included", () => {
    const watched = containerOf(local, "monitoring-containers")
      .env.MONITORING_CONTAINERS.split(" ")
      .map((pair) => pair.split("=")[0]);
    const expected = local.containers.filter((c) => c.restart !== "no").map((c) => c.name);
    expect(expected).toEqual(expect.arrayContaining(["proxy", "mail-dovecot", "monitoring"]));
    expect([...watched].sort()).toEqual([...expected].sort());
  });

  it("stops watching the containers of a service whose probes are switched off", async () => {
    const quiet = await renderVariant("local", (c) => {
      c["infra:services"].monitoring = { probes: { collabora: { enabled: false } } };
    });
    const watched = containerOf(quiet, "monitoring-containers").env.MONITORING_CONTAINERS;
    expect(watched).not.toMatch(/collabora/);
    expect(watched).toMatch(/mail-dovecot=mail/);
  });

  it("fits the whole monitoring service in 256 MiB", () => {
    expect(MONITORING.reduce((sum, name) => sum + containerOf(local, name).memoryMb, 0)).toBeLessThanOrEqual(256);
  });

  it("has Alertmanager's Go runtime collect before its container's memory limit", () => {
    const alertmanager = containerOf(local, "monitoring-alertmanager");
    const soft = /^(\d+)MiB$/.exec(alertmanager.env.GOMEMLIMIT ?? "");
    expect(soft, "GOMEMLIMIT in MiB").not.toBeNull();
    expect(Number(soft![1])).toBeLessThan(alertmanager.memoryMb);
  });

  it("mails the tech group through the local mail server as the monitoring account", () => {
    const am = configFile(local, "monitoring-alertmanager", "alertmanager.yml");
    const mail = am.receivers[0].email_configs[0];
    expect(mail).toMatchObject({
      to: "tech@asso.localhost",
      from: "monitoring@asso.localhost",
      smarthost: "mail.asso.localhost:587",
      require_tls: true,
    });
    expect(mail.auth_password).toBe(containerOf(local, "ldap").secrets.LDAP_SERVICE_PASSWORD_MONITORING);
    expect(am.receivers[0].slack_configs).toBeUndefined();
  });

  it("posts to Mattermost in Slack's format when a webhook is set", async () => {
    const withHook = await renderVariant("local", (c) => {
      c["infra:services"].monitoring = { routes: { mattermost: { hookKey: { secure: "v1:aG9vaw==:aG9vaw==" } } } };
    });
    const slack = configFile(withHook, "monitoring-alertmanager", "alertmanager.yml").receivers[0].slack_configs[0];
    expect(slack.send_resolved).toBe(true);
    expect(slack.api_url).toMatch(/^https:\/\/chat\.asso\.localhost\/hooks\/m[0-9a-f]+$/);
  });

  it("alerts when a job of the host never reports, not only when its report is old", () => {
    const rules = configFile(local, "monitoring-alerts", "rules.yml").groups[0].rules as { alert: string; expr: string; for: string }[];
    const never = rules.filter((r) => r.expr.startsWith("absent("));
    expect(never.map((r) => [r.alert, r.expr, r.for])).toEqual([
      ["JobLate", 'absent(infra_job_last_success_timestamp_seconds{job="backup",host="local"})', "93600s"],
      ["JobLate", 'absent(infra_job_last_success_timestamp_seconds{job="expiry",host="local"})', "93600s"],
    ]);
  });

  it("keeps the thresholds of docs/alerts.md by default", () => {
    const rules = configFile(local, "monitoring-alerts", "rules.yml").groups[0].rules as { alert: string; expr: string; for: string }[];
    const rule = (name: string) => rules.find((r) => r.alert === name);
    expect(rule("ServiceDown")?.for).toBe("300s");
    expect(rule("CertificateExpiresSoon")?.expr).toMatch(/< 14$/);
    expect(rule("DiskAlmostFull")?.expr).toMatch(/> 85$/);
    expect(rule("MailQueueLong")).toMatchObject({ for: "900s" });
    expect(rule("JobLate")?.expr).toMatch(/> 93600$/);
  });
});

describe("monitoring settings errors", () => {
  const mistakes: [string, (services: Record<string, any>) => void, string][] = [
    [
      "a probe override for a service the host does not run",
      (s) => (s.monitoring = { probes: { gitea: { enabled: false } } }),
      "services.monitoring.probes.gitea: unknown service 'gitea'; expected one of this host's services: proxy, ldap, mail, mattermost",
    ],
    [
      "a threshold that is not a number",
      (s) => (s.monitoring = { alerts: { diskPercent: "85%" } }),
      "services.monitoring.alerts.diskPercent: expected a number (percent)",
    ],
    [
      "a Mattermost route without its webhook",
      (s) => (s.monitoring = { routes: { mattermost: {} } }),
      "services.monitoring.routes.mattermost.hookKey: is required",
    ],
    [
      "a mail route to something that is not an address",
      (s) => (s.monitoring = { routes: { mail: { to: "tech team" } } }),
      "services.monitoring.routes.mail.to: expected an email address",
    ],
  ];

  it.each(mistakes)("refuses %s, naming its key path", async (_, change, message) => {
    const error = await renderVariant("local", (c) => change(c["infra:services"])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toContain(message);
  });
});
