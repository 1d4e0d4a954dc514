import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../platform/container";
import { LDAPS_PORT } from "../platform/directory";
import type { Route } from "../platform/host-context";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import { smtpClient } from "../platform/smtp-client";
import {
  agentsScrapeConfig,
  alertmanagerConfig,
  alertRules,
  blackboxConfig,
  duration,
  MONITORING_HOSTS,
  PORTS,
  scrapeConfig,
} from "./config";
import { databaseExporterContainers } from "./database-exporters";
import { containersHealth, nodeExporter } from "./exporters";
import { deriveProbes, deriveWatchedProbes, type Probe } from "./probes";
import type { MonitoringService } from "./settings";

const CONFIG_DIR = "/etc/monitoring";
/** The image's prometheus user (monitoring/image/Dockerfile): it owns the data directories. */
const DAEMON_USER = "prometheus";
const httpHealth = (port: number, path: string) => ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port}${path}`];

/**
 * Monitoring of this host (our image in monitoring/image, Debian's packages): VictoriaMetrics stores what
 * it scrapes (exporters, and the blackbox prober for each probe), vmalert evaluates docs/alerts.md's rules,
 * Alertmanager mails the tech team through our mail server and posts to Mattermost. The probes are derived
 * from the containers the services before it declared (monitoring/probes.ts): it is built last.
 */
export class Monitoring extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[];
  /** What is probed, for `npm run status` and the tests. */
  readonly probes: Probe[];

  constructor(name: string, args: ServiceArgs<typeof MonitoringService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Monitoring", name, {}, opts);
    const { context, settings, endpoints } = args;
    const domain = context.config.domain;
    const host = pulumi.getStack();
    // What the services built before this one declared (stacks/catalog.ts builds monitoring last).
    const declared = [...context.containers];
    const directory = endpoints.directory && { service: "ldap", host: new URL(endpoints.directory.url).hostname, port: LDAPS_PORT };
    // The hosts watched from this one (issue 14): their agents are scraped, their routes and ports probed.
    const watchedHosts = context.config.watchedHosts ?? [];
    // VictoriaMetrics' UI (vmui) through the proxy, behind the account page's tech login when that runs here
    // (stacks/rules.ts: asking for it without is a config error), on an internal network of its own that
    // only the proxy joins: the store is a database, kept off the edge network.
    const ui: Route | undefined =
      endpoints.techLogin && settings.ui.enabled !== false
        ? {
            host: settings.ui.hostname ?? context.subdomain("metrics"),
            port: PORTS.store,
            forwardAuth: endpoints.techLogin,
            via: context.network("monitoring-ui", { internal: true }, this),
          }
        : undefined;
    this.urls = ui ? [`https://${ui.host}`] : [];
    const uiFacts = ui ? [{ name: MONITORING_HOSTS.store, service: "monitoring", routes: [ui], publishedPorts: [] }] : [];
    this.probes = [
      ...deriveProbes([...declared, ...uiFacts], directory, settings.probes),
      ...deriveWatchedProbes(watchedHosts, settings.probes),
    ];

    const network = context.network("monitoring", { internal: true }, this);
    const image = context.ownImage("monitoring", "monitoring/image", this);
    const jobMetrics = context.jobMetricsVolume();
    const config = (file: string, content: pulumi.Input<string>) => ({ path: `${CONFIG_DIR}/${file}`, content });

    // The PostgreSQL and Redis exporters, for the databases the services before this one declared.
    const databaseNames = { postgres: MONITORING_HOSTS.postgres, redis: MONITORING_HOSTS.redis };
    const databaseExporters = databaseExporterContainers(
      context,
      { service: "monitoring", image, names: databaseNames, networks: [{ network }], memoryMb: settings.memory },
      this,
    );

    serviceContainer(
      context,
      MONITORING_HOSTS.store,
      {
        service: "monitoring",
        role: "database",
        image,
        user: DAEMON_USER,
        networks: [{ network }, ...(ui?.via ? [{ network: ui.via }] : [])],
        memoryMb: settings.memory.store,
        command: [
          "victoria-metrics",
          "-storageDataPath=/var/lib/monitoring",
          `-retentionPeriod=${settings.retentionDays}d`,
          `-promscrape.config=${CONFIG_DIR}/scrape.yml`,
          `-httpListenAddr=:${PORTS.store}`,
          // Caches sized from the container's limit; queries see samples as soon as one interval old.
          "-memory.allowedPercent=50",
          `-search.latencyOffset=${duration(Math.min(30, settings.scrapeIntervalSeconds))}`,
        ],
        volumes: [
          {
            source: context.volume("monitoring-data", this, {
              keep: "nothing",
              because: "metrics of the last weeks: losing them loses history, not service",
            }),
            target: "/var/lib/monitoring",
          },
        ],
        files: [
          config(
            "scrape.yml",
            scrapeConfig(host, this.probes, settings, {
              mailQueue: endpoints.mail !== undefined,
              watchedHosts,
              databases: { exporters: databaseExporters, names: databaseNames },
            }),
          ),
        ],
        routes: ui ? [ui] : [],
        healthcheck: { test: httpHealth(PORTS.store, "/health"), intervalSeconds: 30 },
        stopGraceSeconds: 30,
      },
      { parent: this },
    );

    serviceContainer(
      context,
      MONITORING_HOSTS.alerts,
      {
        service: "monitoring",
        role: "app",
        image,
        user: DAEMON_USER,
        networks: [{ network }],
        memoryMb: settings.memory.alerts,
        command: [
          "vmalert",
          `-rule=${CONFIG_DIR}/rules.yml`,
          `-httpListenAddr=:${PORTS.alerts}`,
          `-datasource.url=http://${MONITORING_HOSTS.store}:${PORTS.store}`,
          `-remoteWrite.url=http://${MONITORING_HOSTS.store}:${PORTS.store}`,
          `-remoteRead.url=http://${MONITORING_HOSTS.store}:${PORTS.store}`,
          `-notifier.url=http://${MONITORING_HOSTS.alertmanager}:${PORTS.alertmanager}`,
          `-evaluationInterval=${duration(settings.evaluationIntervalSeconds)}`,
        ],
        // Read once the whole host is declared, like the watched containers below: the jobs built after this.
        files: [
          config(
            "rules.yml",
            pulumi.output(MONITORING_HOSTS.alerts).apply(() =>
              alertRules(
                settings,
                [
                  ...[...context.jobs].sort().map((job) => ({ host, job })),
                  ...watchedHosts.flatMap((watched) => watched.jobs.map((job) => ({ host: watched.host, job }))),
                ],
                watchedHosts.map((watched) => watched.host),
              ),
            ),
          ),
        ],
        healthcheck: { test: httpHealth(PORTS.alerts, "/health"), intervalSeconds: 30 },
      },
      { parent: this },
    );

    // Alert mail: submission as the monitoring account, to the tech group's address.
    const smtp = smtpClient("monitoring", domain, settings.smtp, endpoints);
    const mattermost = settings.routes.mattermost;
    const server = (mattermost?.server ?? `https://chat.${domain}`).replace(/\/+$/, "");
    const webhook = mattermost && pulumi.interpolate`${server}/hooks/${mattermost.hookKey}`;
    const alertmanagerYaml = pulumi.all([smtp.password, webhook ?? ""]).apply(([password, webhookUrl]) =>
      alertmanagerConfig(
        settings,
        {
          to: settings.routes.mail.to ?? `tech@${domain}`,
          from: smtp.username,
          smarthost: `${smtp.host}:${smtp.port}`,
          username: smtp.username,
          password,
          verifyCertificate: smtp.verifyCertificate,
        },
        webhookUrl || undefined,
      ),
    );
    serviceContainer(
      context,
      MONITORING_HOSTS.alertmanager,
      {
        service: "monitoring",
        role: "app",
        image,
        user: DAEMON_USER,
        // The edge network is its way out to a Mattermost webhook on another host.
        networks: [{ network }, { network: context.edge }, ...(smtp.network ? [{ network: smtp.network }] : [])],
        memoryMb: settings.memory.alertmanager,
        // Go's collector does not see the container's limit: bench:monitoring once read 30.3 MiB of 32 after
        // ten minutes (13-16 MiB resident otherwise). A soft limit below it makes Go collect sooner instead.
        env: { GOMEMLIMIT: `${Math.floor(settings.memory.alertmanager * 0.8)}MiB` },
        command: [
          "prometheus-alertmanager",
          `--config.file=${CONFIG_DIR}/alertmanager.yml`,
          "--storage.path=/var/lib/alertmanager",
          `--web.listen-address=:${PORTS.alertmanager}`,
          // One instance: no gossip port.
          "--cluster.listen-address=",
        ],
        volumes: [
          {
            source: context.volume("monitoring-alertmanager", this, {
              keep: "nothing",
              because: "silences and notification log: an alert may be mailed twice after a loss",
            }),
            target: "/var/lib/alertmanager",
          },
        ],
        files: [config("alertmanager.yml", pulumi.secret(alertmanagerYaml))],
        healthcheck: { test: httpHealth(PORTS.alertmanager, "/-/healthy"), intervalSeconds: 30 },
      },
      { parent: this },
    );

    // The prober joins the edge network (the routes, through the proxy), the directory's network, and one
    // routed network of each container whose ports are published (reachable from outside anyway).
    const probedContainers = new Set(this.probes.map((p) => p.target.split(":")[0]));
    const probedNetworks = new Set(
      declared
        .filter((c) => probedContainers.has(c.name))
        .flatMap((c) => c.networks.filter((n) => context.routedNetworks.has(n)).slice(0, 1)),
    );
    if (endpoints.directory) probedNetworks.add(endpoints.directory.network);
    probedNetworks.delete(context.edge);
    serviceContainer(
      context,
      MONITORING_HOSTS.blackbox,
      {
        service: "monitoring",
        role: "app",
        image,
        user: DAEMON_USER,
        networks: [{ network }, { network: context.edge }, ...[...probedNetworks].map((n) => ({ network: n }))],
        memoryMb: settings.memory.blackbox,
        command: ["prometheus-blackbox-exporter", `--config.file=${CONFIG_DIR}/blackbox.yml`, `--web.listen-address=:${PORTS.blackbox}`],
        files: [config("blackbox.yml", blackboxConfig(context.config.tls === "acme"))],
        healthcheck: { test: httpHealth(PORTS.blackbox, "/-/healthy"), intervalSeconds: 30 },
      },
      { parent: this },
    );

    const exporter = { service: "monitoring", image, networks: [{ network }], jobMetrics };
    nodeExporter(context, MONITORING_HOSTS.node, { ...exporter, memoryMb: settings.memory.node }, this);

    // The agents of the watched hosts, scraped over the network by vmagent, which writes to the store: the
    // store is a database and stays on internal networks; vmagent has a routed network of its own.
    if (watchedHosts.length > 0) {
      serviceContainer(
        context,
        MONITORING_HOSTS.scrape,
        {
          service: "monitoring",
          role: "app",
          image,
          user: DAEMON_USER,
          networks: [{ network }, { network: context.network("monitoring-scrape", { internal: false }, this) }],
          memoryMb: settings.memory.scrape,
          command: [
            "vmagent",
            `-promscrape.config=${CONFIG_DIR}/agents.yml`,
            `-remoteWrite.url=http://${MONITORING_HOSTS.store}:${PORTS.store}/api/v1/write`,
            // Samples waiting for the store: in the container, lost when it is replaced (the store rarely waits).
            "-remoteWrite.tmpDataPath=/tmp/vmagent",
            `-httpListenAddr=:${PORTS.scrape}`,
          ],
          files: [config("agents.yml", agentsScrapeConfig(watchedHosts, settings))],
          healthcheck: { test: httpHealth(PORTS.scrape, "/health"), intervalSeconds: 30 },
        },
        { parent: this },
      );
    }

    // The mail queue, asked of Postfix's showq service through its spool (read-only), when it runs here.
    const queue = endpoints.mail?.queue;
    if (queue) {
      serviceContainer(
        context,
        MONITORING_HOSTS.mailQueue,
        {
          service: "monitoring",
          role: "app",
          image,
          user: `nobody:${queue.gid}`,
          networks: [{ network }],
          memoryMb: settings.memory.mailQueue,
          command: [
            "prometheus-postfix-exporter",
            `--web.listen-address=:${PORTS.mailQueue}`,
            "--postfix.showq_path=/var/spool/postfix/public/showq",
            // Postfix logs to the container's output, not to a file: the queue is what is read here.
            "--postfix.logfile_path=/dev/null",
          ],
          volumes: [{ source: queue.volume, target: "/var/spool/postfix", readOnly: true }],
          readOnlyRootfs: true,
          healthcheck: { test: httpHealth(PORTS.mailQueue, "/metrics"), intervalSeconds: 30 },
        },
        { parent: this },
      );
    }

    containersHealth(
      context,
      MONITORING_HOSTS.containers,
      {
        ...exporter,
        memoryMb: settings.memory.containers,
        everySeconds: Math.min(15, settings.scrapeIntervalSeconds),
        watches: (c) => settings.probes[c.service]?.enabled !== false,
      },
      this,
    );

    this.registerOutputs({ probes: this.probes.map((p) => p.name) });
  }
}
