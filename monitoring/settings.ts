import { z } from "zod";
import { declareService } from "../platform/service";
import { email, hostname, memoryMb, secretSetting } from "../platform/settings";
import { SmtpSettings } from "../platform/smtp-client";

/** A threshold or a delay: any positive number (fractions allowed, so tests can use seconds). */
const threshold = (defaultValue: number, what: string) =>
  z
    .number({ error: `expected a number (${what})` })
    .positive({ error: `expected a positive number (${what})` })
    .default(defaultValue);

const seconds = (defaultValue: number) =>
  z.int({ error: "expected a whole number of seconds" }).min(1, { error: "expected at least 1 second" }).default(defaultValue);

/**
 * Alert thresholds, chosen so that a volunteer team is woken only by what needs a hand (docs/alerts.md
 * documents each alert with these numbers).
 */
export const AlertThresholds = z.strictObject({
  /** A probe or a container failing this long raises ServiceDown / ContainerUnhealthy. Default 5 minutes. */
  downForMinutes: threshold(5, "minutes"),
  /** A certificate (route, SMTP, IMAPS, LDAPS) expiring within this many days. Default 14. */
  certificateDays: threshold(14, "days"),
  /** A filesystem of a host fuller than this, for 15 minutes. Default 85 (%). */
  diskPercent: threshold(85, "percent"),
  /** Messages in the mail queue above this number... Default 50. */
  mailQueue: threshold(50, "messages"),
  /** ...for this long. Default 15 minutes. */
  mailQueueForMinutes: threshold(15, "minutes"),
  /** No successful run of a daily job (backup, directory expiry) for this long. Default 26 hours. */
  jobHours: threshold(26, "hours"),
});

export const MonitoringSettings = z.strictObject({
  /** How often every exporter and probe is scraped. Default 60 s (tests use a few seconds). */
  scrapeIntervalSeconds: seconds(60),
  /** How often the alert rules are evaluated. Default 60 s. */
  evaluationIntervalSeconds: seconds(60),
  /** How long Alertmanager waits to group a new alert's first notification. Default 30 s. */
  groupWaitSeconds: seconds(30),
  /** How long before a changed group (a new alert, a resolution) is notified again. Default 300 s. */
  groupIntervalSeconds: seconds(300),
  /** How long VictoriaMetrics keeps the metrics. Default 31 days (at most about 60 MB a day for the local stack, measured by npm run bench:monitoring). */
  retentionDays: z.int({ error: "expected a whole number of days" }).min(1, { error: "expected at least 1 day" }).default(31),
  alerts: AlertThresholds.prefault({}),
  /**
   * Per-service changes to the derived probes, by service name (`infra:services` key or `proxy`):
   * `enabled: false` drops the service's probes and alerts, `downForMinutes` replaces the default delay.
   */
  probes: z
    .record(
      z.string(),
      z.strictObject({
        enabled: z.boolean({ error: "expected true or false" }).default(true),
        downForMinutes: z
          .number({ error: "expected a number (minutes)" })
          .positive({ error: "expected a positive number (minutes)" })
          .optional(),
      }),
    )
    .default({}),
  /** Where alerts go. Mail always; Mattermost when a webhook is set (it still works when the mail server is down). */
  routes: z
    .strictObject({
      /** The tech team's address. Default: the tech group's, `tech@<domain>`. */
      mail: z.strictObject({ to: email().optional() }).prefault({}),
      /**
       * A Mattermost incoming webhook (Integrations > Incoming Webhooks): alerts are posted to
       * `<server>/hooks/<hookKey>`. `server` defaults to the association's Mattermost, `https://chat.<domain>`;
       * `hookKey` (the end of the webhook's URL: whoever has it may post) is encrypted in the stack file.
       */
      mattermost: z
        .strictObject({
          server: z
            .url({ protocol: /^https?$/, error: "expected the Mattermost server's URL, such as https://chat.example.org" })
            .optional(),
          hookKey: secretSetting(),
        })
        .optional(),
    })
    .prefault({}),
  /**
   * VictoriaMetrics' UI (vmui, at `/vmui/`) at `https://<hostname>` through the proxy, behind the account
   * page's tech login (members of tech or admins, with their directory uid and password). Default: served
   * when the account page runs on this host, which it needs (`enabled: true` without it is a config error);
   * `enabled: false` turns it off. `hostname` defaults to `metrics.<domain>`.
   */
  ui: z.strictObject({ enabled: z.boolean({ error: "expected true or false" }).optional(), hostname: hostname().optional() }).prefault({}),
  /** How alert mail is sent: submission as the `monitoring` account (same rules as the web services' `smtp`). */
  smtp: SmtpSettings,
  /** Memory limits. VictoriaMetrics 96, vmalert 32, Alertmanager 32, blackbox 24, node exporter 24, containers 16, mail queue 16, vmagent 16, PostgreSQL exporter 24, Redis exporter 16 (MiB; 13.6 and 9.5 used, scraping every 2 s). */
  memory: z
    .strictObject({
      store: memoryMb(96),
      alerts: memoryMb(32),
      alertmanager: memoryMb(32),
      blackbox: memoryMb(24),
      node: memoryMb(24),
      containers: memoryMb(16),
      mailQueue: memoryMb(16),
      /** vmagent, which scrapes the agents of the hosts watched from this one (only where there are some; 6.7 MiB used for one). */
      scrape: memoryMb(16),
      /** The PostgreSQL and Redis exporters, only where databases run (monitoring/database-exporters.ts). */
      postgres: memoryMb(24),
      redis: memoryMb(16),
    })
    .prefault({}),
});

export type MonitoringConfig = z.output<typeof MonitoringSettings>;

/**
 * `infra:services.monitoring`: VictoriaMetrics, vmalert, Alertmanager and the blackbox prober on this host,
 * the node exporter reading the host and the jobs' metrics; probes derived from the host's other services.
 */
export const MonitoringService = declareService({
  name: "monitoring",
  summary:
    "VictoriaMetrics, vmalert, Alertmanager, blackbox and node exporters: probes derived from the stack, alerts by mail and Mattermost",
  settings: MonitoringSettings,
  ownImages: ["monitoring"],
  needs: { directory: "optional", mail: "optional", techLogin: "optional" },
});
