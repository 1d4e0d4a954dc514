import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { collectStatus, dockerExecQuery, formatStatus } from "../../../stacks/status";
import { startStack, type RunningStack } from "../../helpers/harness";
import { alice, MAIL_STACK, readInbox, seedPeople } from "../../helpers/mail";
import { containerOf, renderVariant } from "../../helpers/rendered";

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
  "monitoring-mail-queue",
];
const STARTED = [...MAIL_STACK, "ldap-daily", "mail-mta-sts", ...MONITORING];
/**
 * The stack's PostgreSQL databases (our image) and the database exporters derived from them
 * (monitoring/database-exporters.ts). The Redis exporter's targets, the Nextclouds' Redis, cannot run here
 * (the image cannot be pulled): they are targets that do not answer. The databases belong to services whose
 * probes are off above: their health is not watched, hence apart from STARTED.
 */
const POSTGRES = ["mattermost-db", "nextcloud-asso-db"];
const DATABASES = [...POSTGRES, "monitoring-postgres", "monitoring-redis"];
const QUICK = {
  scrapeIntervalSeconds: 2,
  evaluationIntervalSeconds: 2,
  groupWaitSeconds: 1,
  // Alertmanager retries a failed notification until the next group interval: long enough to outlast a
  // Dovecot restart (submission logins need it), short enough for the resolution mail.
  groupIntervalSeconds: 30,
  alerts: { downForMinutes: 0.1 },
  probes: { mattermost: { enabled: false }, nextcloud: { enabled: false }, collabora: { enabled: false } },
  // The stand-in below plays Mattermost; the key is the render's stand-in for an encrypted value.
  routes: { mattermost: { server: "http://webhook-standin:8080", hookKey: { secure: "v1:aG9vaw==:aG9vaw==" } } },
};

/** A stand-in for Mattermost's incoming webhooks: prints each POST (path and body) on one line of its log. */
const STANDIN_SERVER = `
import http.server, json
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print(json.dumps({"path": self.path, "type": self.headers["Content-Type"], "body": json.loads(body)}), flush=True)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
http.server.HTTPServer(("", 8080), Hook).serve_forever()
`;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.runIf(dockerAvailable())("monitoring and alerting", () => {
  let stack: RunningStack;
  let probes: string[];
  let standin: string | undefined;

  /** What the stand-in webhook received so far. */
  async function posts(): Promise<
    { path: string; type: string; body: { username: string; attachments: { title: string; text: string }[] } }[]
  > {
    const log = await dockerOk(["logs", standin as string]);
    return log
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
  }

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
      // One tenant: one database fewer to start (the partner's Nextcloud adds nothing to what is tested here).
      config["infra:partners"] = [];
    });
    stack = await startStack({ rendered, containers: [...STARTED, ...DATABASES] });
    // On the edge network, Alertmanager's way out, under the name the route gives (python3 is in our image).
    standin = `${stack.prefix}webhook-standin`;
    await dockerOk([
      "run",
      "-d",
      "--name",
      standin,
      "--network",
      `${stack.prefix}edge`,
      "--network-alias",
      "webhook-standin",
      "--user",
      "nobody",
      "--entrypoint",
      "python3",
      containerOf(rendered, "monitoring").image,
      "-c",
      STANDIN_SERVER,
    ]);
    await seedPeople(stack, [alice], [alice]);
    const scrape = parse(stack.spec("monitoring").files.find((f) => f.path.endsWith("scrape.yml"))?.content ?? "") as {
      scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[];
    };
    probes = (scrape.scrape_configs.find((j) => j.job_name === "probe")?.static_configs ?? []).map((s) => s.labels.probe);
  }, 600_000);

  afterAll(async () => {
    if (standin) await docker(["rm", "-f", standin]);
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
    // The containers this file starts; the proxy and the web services (third-party images) cannot run here.
    const started = new RegExp(`^(${STARTED.join("|")})$`);
    // A loaded CI machine once took over 90 s here (it passed at once when run again): room, not a retry.
    await until(
      "every container started here healthy",
      async () => {
        const samples = (await query("infra_container_healthy")).filter((s) => started.test(s.metric.name));
        return samples.length === STARTED.length && samples.every((s) => s.value[1] === "1") ? true : undefined;
      },
      180_000,
    );
    // Every target scraped too: a scrape that failed while the containers started fires HostNotScraped
    // for its few seconds (downForMinutes 0.1 here), which the next evaluation resolves.
    await until("every scrape target up", async () => ((await query("up == 0")).length === 0 ? true : undefined));
    // Wait an evaluation or two after everything is up: no alert about what runs here.
    await new Promise((r) => setTimeout(r, 8000));
    const alerts = await query(`ALERTS{alertstate="firing"}`);
    const aboutWhatRuns = alerts.filter((a) =>
      a.metric.probe ? !a.metric.probe.startsWith("https://") : !a.metric.name || started.test(a.metric.name),
    );
    expect(aboutWhatRuns.map((a) => a.metric)).toEqual([]);
  }, 420_000);

  it("scrapes the stack's PostgreSQL through the exporter derived from it, as a login with pg_monitor only", async () => {
    await until("pg_up 1", async () => ((await query(`pg_up{job="postgres",host="local"} == 1`)).length > 0 ? true : undefined));
    // pg_up is 1 when any database answers (several data sources in 0.11): each database's own series prove it.
    const versions = await until("every database's series", async () => {
      const found = await query(`pg_static{job="postgres"}`);
      return found.length === POSTGRES.length ? found : undefined;
    });
    // Every database of the plan, none listed in the exporter's settings.
    const planned = stack.rendered.containers.filter((c) => c.role === "database" && c.service !== "monitoring").map((c) => c.name);
    expect(planned.sort()).toEqual(POSTGRES);
    expect(versions.map((s) => s.metric.server).sort()).toEqual(POSTGRES.map((db) => `${db}:5432`));
    expect(versions.every((s) => /^15\./.test(s.metric.short_version))).toBe(true);
    const [size] = await query(`pg_database_size_bytes{server="mattermost-db:5432",datname="mattermost"}`);
    expect(Number(size.value[1])).toBeGreaterThan(0);
    const role = await stack.exec("mattermost-db", [
      "psql",
      "-U",
      "mattermost",
      "-d",
      "postgres",
      "-tAc",
      "SELECT rolsuper, rolcreaterole, pg_has_role('exporter', 'pg_monitor', 'MEMBER') FROM pg_roles WHERE rolname = 'exporter'",
    ]);
    expect(role.stdout.trim()).toBe("f|f|t");
    // Each Redis of the plan is a target of the Redis exporter, scraped at /scrape (none runs here: redis_up 0).
    const caches = stack.rendered.containers.filter((c) => c.role === "cache").map((c) => `redis://${c.name}:6379`);
    expect(caches).toEqual(["redis://nextcloud-asso-redis:6379"]);
    const redis = await until("every Redis of the plan scraped", async () => {
      const found = await query(`redis_up{job="redis",host="local"}`);
      return found.length === caches.length ? found : undefined;
    });
    expect(redis.map((s) => s.metric.instance)).toEqual(caches);
  }, 60_000);

  it("shows each probe of our daemons as up in npm run status's table", async () => {
    const status = await collectStatus(dockerExecQuery("unix:///var/run/docker.sock", `${stack.prefix}monitoring`));
    const table = formatStatus(status);
    for (const probe of probes.filter((p) => !p.startsWith("https://"))) {
      // kind │ host │ name │ state: the local stack watches itself only, under its own name.
      expect(table).toMatch(new RegExp(`probe\\s*│\\s*local\\s*│\\s*${probe.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s*│\\s*up\\s*│`));
    }
    expect(status.rows.find((r) => r.kind === "host")?.detail).toMatch(/^disk \d+ %, memory \d+ % used, load /);
  }, 60_000);

  it("tells Mattermost at once when Dovecot stops, and the tech mailbox once it is back, then the resolution", async () => {
    const hookKey = (
      parse(containerOf(stack.rendered, "monitoring-alertmanager").files[0].content) as {
        receivers: { slack_configs: { api_url: string }[] }[];
      }
    ).receivers[0].slack_configs[0].api_url.split("/hooks/")[1];
    // Alerts are grouped by name and host: the IMAPS probe is a line of the ServiceDown notification.
    const line = (status: "firing" | "resolved") => new RegExp(`^${status}: imaps://mail-dovecot:993 `, "m");
    await stack.stop("mail-dovecot");
    let posted;
    try {
      await until("the IMAPS probe failing", async () =>
        (await query(`probe_success{probe="imaps://mail-dovecot:993"} == 0`)).length > 0 ? true : undefined,
      );
      // The route that does not need the mail server: Mattermost hears of it while Dovecot is down. The mail of
      // the same notification fails (Postfix checks submission logins with Dovecot) and is retried.
      posted = await until(
        "the Mattermost post",
        async () => (await posts()).find((p) => line("firing").test(p.body.attachments?.[0]?.text ?? "")),
        180_000,
      );
    } finally {
      await stack.start("mail-dovecot");
      await stack.waitHealthy("mail-dovecot");
    }
    expect(posted.path).toBe(`/hooks/${hookKey}`);
    expect(posted.type).toMatch(/^application\/json/);
    expect(posted.body.username).toBe("monitoring");
    expect(posted.body.attachments[0].title).toBe("FIRING: ServiceDown on local");

    const imap = await stack.ip("mail-dovecot");
    const mail = await until("the alert mail", async () =>
      (await readInbox(imap, alice.mail, alice.password)).find((m) => line("firing").test(m)),
    );
    expect(mail).toMatch(/^From: monitoring@asso\.localhost/m);
    expect(mail).toMatch(/^Subject: \[FIRING:\d+\] ServiceDown/m);
    await until("the resolution mail", async () =>
      (await readInbox(imap, alice.mail, alice.password)).find((m) => line("resolved").test(m)),
    );
  }, 480_000);

  it("records the directory's expiry run, which monitoring reads", async () => {
    const run = await stack.exec("ldap-daily", ["ldap-daily", "--once"]);
    expect(run.exitCode, run.stderr).toBe(0);
    const [success] = await until("the expiry job's metrics", async () => {
      const samples = await query(`infra_job_last_run_success{job="expiry"}`);
      return samples.length > 0 ? samples : undefined;
    });
    expect(success.value[1]).toBe("1");
    const [age] = await query(`time() - infra_job_last_success_timestamp_seconds{job="expiry"}`);
    expect(Number(age.value[1])).toBeLessThan(120);
  }, 120_000);

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

  it("raises the expiry alert for a certificate that expires in 10 days", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "monitoring-ca-"));
    try {
      // A test CA, and a certificate of the mail server's name from it, valid for 10 more days.
      const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
      openssl([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=Test CA",
        "-days",
        "30",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
      ]);
      openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mail.asso.localhost", "-keyout", "tls.key", "-out", "tls.csr"]);
      openssl(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "10", "-out", "tls.crt"]);
      // Installed as the ACME container would (key first, each by a rename), then Dovecot restarted to load it.
      for (const file of ["tls.key", "tls.crt"]) {
        const write = await stack.exec("mail-dovecot", ["sh", "-c", `cat > /tls/${file}.new && mv /tls/${file}.new /tls/${file}`], {
          input: fs.readFileSync(path.join(dir, file), "utf8"),
        });
        expect(write.exitCode).toBe(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await stack.restart("mail-dovecot");
    const days = await until("the IMAPS certificate's expiry seen", async () => {
      const [sample] = await query(`(probe_ssl_earliest_cert_expiry{probe="imaps://mail-dovecot:993"} - time()) / 86400`);
      return sample && Number(sample.value[1]) < 11 ? Number(sample.value[1]) : undefined;
    });
    expect(days).toBeGreaterThan(9);
    await until("CertificateExpiresSoon firing for IMAPS", () => firing("CertificateExpiresSoon", `probe="imaps://mail-dovecot:993"`));
  }, 180_000);
});
