import { stringify } from "yaml";
import type { DatabaseExporter, WatchedHost } from "../platform/watched-host";
import type { Probe } from "./probes";
import type { MonitoringConfig } from "./settings";

/**
 * The configuration files of the monitoring daemons, rendered from the settings and the derived probes:
 * pure functions returning YAML text (keys in a fixed order, so a second `pulumi up` shows no change).
 * docs/alerts.md documents the alerts written here.
 */

/** Container names, which are also their host names on the monitoring network. */
export const MONITORING_HOSTS = {
  store: "monitoring",
  alerts: "monitoring-alerts",
  alertmanager: "monitoring-alertmanager",
  blackbox: "monitoring-blackbox",
  node: "monitoring-node",
  containers: "monitoring-containers",
  mailQueue: "monitoring-mail-queue",
  scrape: "monitoring-scrape",
  postgres: "monitoring-postgres",
  redis: "monitoring-redis",
} as const;

export const PORTS = {
  store: 8428,
  alerts: 8880,
  alertmanager: 9093,
  blackbox: 9115,
  node: 9100,
  mailQueue: 9154,
  scrape: 8429,
  // The database exporters' (monitoring/database-exporters.ts), their upstream defaults.
  postgres: 9187,
  redis: 9121,
} as const;

const at = (host: string, port: number) => `${host}:${port}`;

/** A duration in whole seconds as the daemons read it (`90s`). */
export function duration(seconds: number): string {
  return `${Math.max(0, Math.round(seconds))}s`;
}

/**
 * VictoriaMetrics' scrape configuration (Prometheus format): the exporters, then each probe through the
 * blackbox (the watched hosts' probes with their own `host` label). Where hosts are watched, vmagent too,
 * which scrapes their agents (agentsScrapeConfig).
 */
export function scrapeConfig(
  host: string,
  probes: readonly Probe[],
  settings: Pick<MonitoringConfig, "scrapeIntervalSeconds">,
  options: {
    mailQueue: boolean;
    watchedHosts?: readonly WatchedHost[];
    /** This host's database exporters (monitoring/database-exporters.ts), at their container names. */
    databases?: { exporters: readonly DatabaseExporter[]; names: Readonly<Record<DatabaseExporter["kind"], string>> };
  },
): string {
  const interval = settings.scrapeIntervalSeconds;
  const job = (name: string, target: string) => ({ job_name: name, static_configs: [{ targets: [target], labels: { host } }] });
  // The jobs' textfile metrics carry their own `job` label (platform/job-metrics.ts): the node job keeps it.
  const node = { ...job("node", at(MONITORING_HOSTS.node, PORTS.node)), honor_labels: true };
  const names = options.databases?.names ?? { postgres: "", redis: "" };
  return stringify({
    global: { scrape_interval: duration(interval), scrape_timeout: duration(Math.min(10, interval)) },
    scrape_configs: [
      node,
      job("victoriametrics", at(MONITORING_HOSTS.store, PORTS.store)),
      job("vmalert", at(MONITORING_HOSTS.alerts, PORTS.alerts)),
      job("alertmanager", at(MONITORING_HOSTS.alertmanager, PORTS.alertmanager)),
      job("blackbox", at(MONITORING_HOSTS.blackbox, PORTS.blackbox)),
      ...(options.mailQueue ? [job("mail-queue", at(MONITORING_HOSTS.mailQueue, PORTS.mailQueue))] : []),
      ...((options.watchedHosts ?? []).length > 0 ? [job("vmagent", at(MONITORING_HOSTS.scrape, PORTS.scrape))] : []),
      ...databaseJobs(
        options.databases ? [{ host, exporters: options.databases.exporters, address: (e) => at(names[e.kind], e.port) }] : [],
      ),
      {
        job_name: "probe",
        metrics_path: "/probe",
        static_configs: probes.map((p) => ({
          targets: [p.target],
          labels: { host: p.host ?? host, probe: p.name, service: p.service, module: p.module },
        })),
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["module"], target_label: "__param_module" },
          { source_labels: ["__param_target"], target_label: "instance" },
          { target_label: "__address__", replacement: at(MONITORING_HOSTS.blackbox, PORTS.blackbox) },
        ],
      },
    ],
  });
}

/**
 * vmagent's scrape configuration: the agent of each watched host at its public address, as the `node` job with
 * that host's `host` label, the same series as the monitoring host's own node exporter gives.
 */
export function agentsScrapeConfig(
  watchedHosts: readonly WatchedHost[],
  settings: Pick<MonitoringConfig, "scrapeIntervalSeconds">,
): string {
  const interval = settings.scrapeIntervalSeconds;
  return stringify({
    global: { scrape_interval: duration(interval), scrape_timeout: duration(Math.min(10, interval)) },
    scrape_configs: [
      {
        job_name: "node",
        static_configs: watchedHosts.map((w) => ({ targets: [at(w.address, w.agentPort)], labels: { host: w.host } })),
        // The jobs' textfile metrics carry their own `job` label (platform/job-metrics.ts), as on the node job.
        honor_labels: true,
      },
      ...databaseJobs(watchedHosts.map((w) => ({ host: w.host, exporters: w.databaseExporters, address: (e) => at(w.address, e.port) }))),
    ],
  });
}

/**
 * The scrape jobs of the database exporters of some hosts (monitoring/database-exporters.ts): `postgres`, the
 * exporter itself (each database's series carry `server`); `redis`, each Redis as a target of the exporter's
 * `/scrape` (its `instance` is the Redis's URI). One job per kind, none for a kind no host runs.
 */
function databaseJobs(
  hosts: readonly { host: string; exporters: readonly DatabaseExporter[]; address: (exporter: DatabaseExporter) => string }[],
): object[] {
  const of = (kind: DatabaseExporter["kind"]) =>
    hosts.flatMap((h) => h.exporters.filter((e) => e.kind === kind).map((e) => ({ ...h, exporter: e })));
  const postgres = of("postgres");
  const redis = of("redis");
  return [
    ...(postgres.length > 0
      ? [
          {
            job_name: "postgres",
            static_configs: postgres.map(({ host, exporter, address }) => ({ targets: [address(exporter)], labels: { host } })),
          },
        ]
      : []),
    ...(redis.length > 0
      ? [
          {
            job_name: "redis",
            metrics_path: "/scrape",
            static_configs: redis.map(({ host, exporter, address }) => ({
              targets: exporter.targets,
              labels: { host, __exporter_address: address(exporter) },
            })),
            relabel_configs: [
              { source_labels: ["__address__"], target_label: "__param_target" },
              { source_labels: ["__param_target"], target_label: "instance" },
              { source_labels: ["__exporter_address"], target_label: "__address__" },
            ],
          },
        ]
      : []),
  ];
}

/**
 * The blackbox modules. `verifyTls` is off on a self-signed host (local); ports probed by container name
 * are never verified (the certificate carries the public name), only their expiry is read.
 */
export function blackboxConfig(verifyTls: boolean): string {
  const insecure = { insecure_skip_verify: true };
  const smtpGreeting = { expect: "^220" };
  return stringify({
    modules: {
      https: {
        prober: "http",
        timeout: "10s",
        http: {
          preferred_ip_protocol: "ip4",
          fail_if_not_ssl: true,
          follow_redirects: true,
          tls_config: { insecure_skip_verify: !verifyTls },
        },
      },
      // A route behind the tech login (the metrics UI): the login must answer, and refuse a request without
      // credentials with its Basic challenge (a 2xx would mean the page is open to anyone).
      https_login: {
        prober: "http",
        timeout: "10s",
        http: {
          preferred_ip_protocol: "ip4",
          fail_if_not_ssl: true,
          valid_status_codes: [401],
          fail_if_header_not_matches: [{ header: "WWW-Authenticate", regexp: "^Basic ", allow_missing: false }],
          tls_config: { insecure_skip_verify: !verifyTls },
        },
      },
      smtp_starttls: {
        prober: "tcp",
        timeout: "10s",
        tcp: {
          preferred_ip_protocol: "ip4",
          tls_config: insecure,
          query_response: [
            smtpGreeting,
            { send: "EHLO monitoring\r" },
            { expect: "^250[ -]STARTTLS" },
            { send: "STARTTLS\r" },
            smtpGreeting,
            { starttls: true },
            { send: "EHLO monitoring\r" },
            { expect: "^250" },
            { send: "QUIT\r" },
          ],
        },
      },
      smtps: {
        prober: "tcp",
        timeout: "10s",
        tcp: { preferred_ip_protocol: "ip4", tls: true, tls_config: insecure, query_response: [smtpGreeting, { send: "QUIT\r" }] },
      },
      imaps: {
        prober: "tcp",
        timeout: "10s",
        tcp: {
          preferred_ip_protocol: "ip4",
          tls: true,
          tls_config: insecure,
          query_response: [{ expect: "^\\* OK" }, { send: "a1 LOGOUT\r" }],
        },
      },
      tls: { prober: "tcp", timeout: "10s", tcp: { preferred_ip_protocol: "ip4", tls: true, tls_config: insecure } },
      tcp: { prober: "tcp", timeout: "10s", tcp: { preferred_ip_protocol: "ip4" } },
    },
  });
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string };
}

/** A `service` matcher: `service="x"`, or none of the overridden ones for the default rule. */
function serviceMatcher(only: string | undefined, except: readonly string[]): string {
  if (only !== undefined) return `service="${only}"`;
  return except.length > 0 ? `service!~"${except.join("|")}"` : "";
}

/** vmalert's rules: the alerts of docs/alerts.md with the stack's thresholds. */
export function alertRules(
  settings: Pick<MonitoringConfig, "alerts" | "probes" | "evaluationIntervalSeconds">,
  jobs: readonly { host: string; job: string }[] = [],
  watchedHosts: readonly string[] = [],
): string {
  const a = settings.alerts;
  const rule = (alert: string, expr: string, forSeconds: number, summary: string, severity = "warning"): Rule => ({
    alert,
    expr,
    for: duration(forSeconds),
    labels: { severity },
    annotations: { summary },
  });
  // Services whose probes wait longer (or shorter) than the default before alerting.
  const delays = Object.entries(settings.probes)
    .filter(([, o]) => o.enabled && o.downForMinutes !== undefined)
    .map(([service, o]) => [service, o.downForMinutes as number] as const)
    .sort(([x], [y]) => x.localeCompare(y));
  // Switched-off services have no probe and no watched container (monitoring/component.ts): nothing to exclude here.
  const downRules = (only: string | undefined, forMinutes: number): Rule[] => {
    const matcher = serviceMatcher(
      only,
      delays.map(([service]) => service),
    );
    return [
      rule(
        "ServiceDown",
        `probe_success{${matcher}} == 0`,
        forMinutes * 60,
        `{{ $labels.probe }} ({{ $labels.service }}) has failed for ${forMinutes} minutes`,
        "critical",
      ),
      rule(
        "ContainerUnhealthy",
        `infra_container_healthy{${matcher}} == 0`,
        forMinutes * 60,
        `container {{ $labels.name }} on {{ $labels.host }} has not been healthy for ${forMinutes} minutes`,
        "critical",
      ),
    ];
  };
  const rules: Rule[] = [
    ...downRules(undefined, a.downForMinutes),
    ...delays.flatMap(([service, forMinutes]) => downRules(service, forMinutes)),
    rule(
      "CertificateExpiresSoon",
      `(probe_ssl_earliest_cert_expiry - time()) / 86400 < ${a.certificateDays}`,
      0,
      `the certificate of {{ $labels.probe }} expires in {{ $value | humanize }} days (renewal failing?)`,
    ),
    rule(
      "DiskAlmostFull",
      `100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|nsfs"} / node_filesystem_size_bytes) > ${a.diskPercent}`,
      15 * 60,
      `{{ $labels.mountpoint }} on {{ $labels.host }} is {{ $value | humanize }}% full`,
    ),
    rule(
      "MailQueueLong",
      `sum by (host) (postfix_showq_message_size_bytes_count) > ${a.mailQueue}`,
      a.mailQueueForMinutes * 60,
      `{{ $value }} messages wait in the mail queue on {{ $labels.host }}`,
    ),
    rule(
      "JobFailed",
      `infra_job_last_run_success == 0`,
      0,
      `the last run of the {{ $labels.job }} job on {{ $labels.host }} failed`,
      "critical",
    ),
    rule(
      "JobLate",
      `time() - infra_job_last_success_timestamp_seconds > ${a.jobHours * 3600}`,
      0,
      `no successful {{ $labels.job }} run on {{ $labels.host }} for ${a.jobHours} hours`,
      "critical",
    ),
    // A job that never wrote its file (it dies before, or its volume is not mounted) has no timestamp to age.
    // By host: another host's file of the same job would hide this one's absence.
    ...jobs.map(({ host, job }) =>
      rule(
        "JobLate",
        `absent(infra_job_last_success_timestamp_seconds{job="${job}",host="${host}"})`,
        a.jobHours * 3600,
        `no successful ${job} run reported on ${host} for ${a.jobHours} hours`,
        "critical",
      ),
    ),
    rule(
      "HostNotScraped",
      `up == 0`,
      a.downForMinutes * 60,
      `{{ $labels.job }} on {{ $labels.host }} ({{ $labels.instance }}) cannot be scraped`,
      "critical",
    ),
    // A watched host's agent with no `up` at all: vmagent, which writes it, is not scraping it.
    ...watchedHosts.map((watched) =>
      rule(
        "HostNotScraped",
        `absent(up{job="node",host="${watched}"})`,
        a.downForMinutes * 60,
        `nothing is scraped of ${watched}'s agent (monitoring-scrape)`,
        "critical",
      ),
    ),
  ];
  return stringify({ groups: [{ name: "infra", interval: duration(settings.evaluationIntervalSeconds), rules }] });
}

/** Each alert of a notification on its own line: its summary (the rules' annotation). */
const SUMMARY_LINES = "{{ range .Alerts }}{{ .Status }}: {{ .Annotations.summary }}\n{{ end }}";

/** How alert mail leaves: submission with STARTTLS as the monitoring account. */
export interface MailRoute {
  to: string;
  from: string;
  smarthost: string;
  username: string;
  password: string;
  verifyCertificate: boolean;
}

/** Alertmanager's configuration: one receiver (the tech team) by mail, and Mattermost when a webhook is set. */
export function alertmanagerConfig(
  settings: Pick<MonitoringConfig, "groupWaitSeconds" | "groupIntervalSeconds">,
  mail: MailRoute,
  mattermostWebhook: string | undefined,
): string {
  return stringify({
    route: {
      receiver: "tech",
      group_by: ["alertname", "host"],
      group_wait: duration(settings.groupWaitSeconds),
      group_interval: duration(settings.groupIntervalSeconds),
      repeat_interval: "12h",
    },
    receivers: [
      {
        name: "tech",
        email_configs: [
          {
            to: mail.to,
            from: mail.from,
            smarthost: mail.smarthost,
            auth_username: mail.username,
            auth_password: mail.password,
            require_tls: true,
            tls_config: { insecure_skip_verify: !mail.verifyCertificate },
            send_resolved: true,
            // A plain-text part, one line per alert, readable in any mail client (beside the default HTML).
            text: SUMMARY_LINES,
          },
        ],
        // Mattermost's incoming webhooks take Slack's payload.
        ...(mattermostWebhook
          ? {
              slack_configs: [
                {
                  api_url: mattermostWebhook,
                  send_resolved: true,
                  username: "monitoring",
                  title: "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} on {{ .CommonLabels.host }}",
                  text: SUMMARY_LINES,
                },
              ],
            }
          : {}),
      },
    ],
  });
}
