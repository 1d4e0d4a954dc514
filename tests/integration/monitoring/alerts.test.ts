import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { alice, MAIL_STACK, seedPeople, waitForSubject } from "../../helpers/mail";
import { renderVariant } from "../../helpers/rendered";

/**
 * The monitoring service of the rendered local stack, on real containers, beside our own daemons (the
 * directory and the mail server), with short intervals through its settings. The routes' probes go
 * through the proxy (Traefik), whose image cannot be pulled here: they are checked on the rendered plan
 * (tests/unit/monitoring), and the web services' probes are switched off by override.
 */
const MONITORING = [
  "monitoring",
  "monitoring-alerts",
  "monitoring-alertmanager",
  "monitoring-blackbox",
  "monitoring-node",
  "monitoring-containers",
];
const QUICK = {
  scrapeIntervalSeconds: 2,
  evaluationIntervalSeconds: 2,
  groupWaitSeconds: 1,
  // Alertmanager retries a failed notification until the next group interval: long enough to outlast a
  // Dovecot restart (submission logins need it), short enough for the resolution mail.
  groupIntervalSeconds: 30,
  alerts: { downForMinutes: 0.1 },
  probes: { mattermost: { enabled: false }, nextcloud: { enabled: false }, collabora: { enabled: false } },
};

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.runIf(dockerAvailable())("monitoring and alerting", () => {
  let stack: RunningStack;
  let probes: string[];

  /** An instant query to VictoriaMetrics, from inside its container (the monitoring network is internal). */
  async function query(expr: string): Promise<Sample[]> {
    const result = await stack.exec("monitoring", [
      "curl",
      "-fsS",
      "--data-urlencode",
      `query=${expr}`,
      "http://127.0.0.1:8428/api/v1/query",
    ]);
    if (result.exitCode !== 0) throw new Error(`query ${expr} failed: ${result.stderr}`);
    return (JSON.parse(result.stdout) as { data: { result: Sample[] } }).data.result;
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  const firing = async (alertname: string, labels = "") =>
    (await query(`ALERTS{alertstate="firing",alertname="${alertname}"${labels ? "," + labels : ""}}`)).length > 0 ? true : undefined;

  beforeAll(async () => {
    const rendered = await renderVariant("local", (config) => {
      config["infra:services"].monitoring = QUICK;
    });
    stack = await startStack({ rendered, containers: [...MAIL_STACK, "ldap-daily", "mail-mta-sts", ...MONITORING] });
    await seedPeople(stack, [alice], [alice]);
    const scrape = parse(stack.spec("monitoring").files.find((f) => f.path.endsWith("scrape.yml"))?.content ?? "") as {
      scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[];
    };
    probes = (scrape.scrape_configs.find((j) => j.job_name === "probe")?.static_configs ?? []).map((s) => s.labels.probe);
  }, 600_000);

  afterAll(async () => {
    await stack?.teardown();
  });

  it("probes our daemons derived from the stack, all up, and fires no alert", async () => {
    // Derived, not listed: the mail server's published ports and the directory.
    expect(probes).toEqual(
      expect.arrayContaining([
        "smtp+starttls://mail-postfix:25",
        "smtp+starttls://mail-postfix:587",
        "smtps://mail-postfix:465",
        "imaps://mail-dovecot:993",
        "ldaps://ldap.asso.localhost:636",
      ]),
    );
    const daemons = probes.filter((p) => !p.startsWith("https://"));
    await until("every probe of our daemons up", async () => {
      const up = await query(`probe_success == 1`);
      const names = up.map((s) => s.metric.probe);
      return daemons.every((p) => names.includes(p)) ? true : undefined;
    });
    await until("every watched container healthy", async () => {
      const samples = await query("infra_container_healthy");
      return samples.length > 0 && samples.every((s) => s.value[1] === "1") ? true : undefined;
    });
    // Wait an evaluation or two after everything is up; only the routes (no proxy here) may fail.
    await new Promise((r) => setTimeout(r, 8000));
    const alerts = await query(`ALERTS{alertstate=~"firing|pending"}`);
    expect(alerts.filter((a) => !(a.metric.probe ?? "").startsWith("https://")).map((a) => a.metric)).toEqual([]);
  }, 180_000);

  it("mails the tech team when Dovecot stops, once it can authenticate again, then the resolution", async () => {
    await stack.stop("mail-dovecot");
    try {
      await until("the IMAPS probe failing", async () =>
        (await query(`probe_success{probe="imaps://mail-dovecot:993"} == 0`)).length > 0 ? true : undefined,
      );
      await until("ServiceDown firing for IMAPS", () => firing("ServiceDown", `probe="imaps://mail-dovecot:993"`));
    } finally {
      // Submission logins are checked by Dovecot: until it is back, Alertmanager retries the mail (docs/alerts.md).
      await stack.start("mail-dovecot");
      await stack.waitHealthy("mail-dovecot");
    }
    const imap = await stack.ip("mail-dovecot");
    const alert = await waitForSubject(imap, alice, "[FIRING:1] ServiceDown", { timeoutMs: 60_000 });
    expect(alert).toMatch(/imaps:\/\/mail-dovecot:993/);
    expect(alert).toMatch(/^From: monitoring@asso\.localhost/m);
    const resolved = await waitForSubject(imap, alice, "[RESOLVED] ServiceDown", { timeoutMs: 90_000 });
    expect(resolved).toMatch(/imaps:\/\/mail-dovecot:993/);
  }, 300_000);

  it("raises the backup alerts when the last backup failed a day and more ago", async () => {
    const dayAndHalfAgo = Math.floor(Date.now() / 1000) - 36 * 3600;
    const prom = [
      `infra_job_last_run_timestamp_seconds{job="backup"} ${dayAndHalfAgo}`,
      `infra_job_last_run_success{job="backup"} 0`,
      `infra_job_last_success_timestamp_seconds{job="backup"} ${dayAndHalfAgo - 86400}`,
      "",
    ].join("\n");
    // As the backup job writes it (platform/job-metrics.ts): a temporary name, then a rename.
    const write = await stack.exec(
      "monitoring-containers",
      [
        "sh",
        "-c",
        "cat > /var/lib/job-metrics/.backup.prom.tmp && mv /var/lib/job-metrics/.backup.prom.tmp /var/lib/job-metrics/backup.prom",
      ],
      { input: prom },
    );
    expect(write.exitCode).toBe(0);
    await until("JobFailed firing for the backup", () => firing("JobFailed", `job="backup"`));
    await until("JobLate firing for the backup", () => firing("JobLate", `job="backup"`));
  }, 120_000);
});
