import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../platform/container";
import { LDAPS_PORT } from "../platform/directory";
import { JOB_METRICS_DIR } from "../platform/job-metrics";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import { smtpClient } from "../platform/smtp-client";
import { alertmanagerConfig, alertRules, blackboxConfig, duration, MONITORING_HOSTS, PORTS, scrapeConfig } from "./config";
import { deriveProbes, type Probe } from "./probes";
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
  readonly urls: string[] = [];
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
    this.probes = deriveProbes(declared, directory, settings.probes);

    const network = context.network("monitoring", { internal: true }, this);
    const image = context.ownImage("monitoring", "monitoring/image", this);
    const jobMetrics = context.jobMetricsVolume();
    const config = (file: string, content: pulumi.Input<string>) => ({ path: `${CONFIG_DIR}/${file}`, content });

    serviceContainer(
      context,
      MONITORING_HOSTS.store,
      {
        service: "monitoring",
        role: "database",
        image,
        user: DAEMON_USER,
        networks: [{ network }],
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
        files: [config("scrape.yml", scrapeConfig(host, this.probes, settings, { mailQueue: endpoints.mail !== undefined }))],
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
            pulumi.output(MONITORING_HOSTS.alerts).apply(() => alertRules(settings, [...context.jobs].sort())),
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

    serviceContainer(
      context,
      MONITORING_HOSTS.node,
      {
        service: "monitoring",
        role: "app",
        image,
        // statfs on every mount point needs no privilege; nobody reads no file of the host that is not public.
        user: "nobody",
        networks: [{ network }],
        memoryMb: settings.memory.node,
        command: [
          "prometheus-node-exporter",
          "--path.rootfs=/host",
          "--path.procfs=/host/proc",
          "--path.sysfs=/host/sys",
          `--collector.textfile.directory=${JOB_METRICS_DIR}`,
          `--web.listen-address=:${PORTS.node}`,
          // No systemd nor D-Bus in a container: the host's units are not ours to watch.
          "--no-collector.systemd",
          "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)",
        ],
        volumes: [
          { source: "/", target: "/host", readOnly: true },
          { source: jobMetrics, target: JOB_METRICS_DIR, readOnly: true },
        ],
        readOnlyRootfs: true,
        healthcheck: { test: httpHealth(PORTS.node, "/"), intervalSeconds: 30 },
      },
      { parent: this },
    );

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

    // Read once the whole host is declared (an Output's callback runs after the program's synchronous part),
    // so that the containers of the services built after this one, and the proxy's, are watched too.
    const watched = pulumi.output(MONITORING_HOSTS.containers).apply(() =>
      context.containers
        .filter((c) => !c.oneShot && settings.probes[c.service]?.enabled !== false)
        .map((c) => `${c.name}=${c.service}`)
        .join(" "),
    );
    serviceContainer(
      context,
      MONITORING_HOSTS.containers,
      {
        service: "monitoring",
        role: "app",
        image,
        // Root for the Docker socket (root:docker 0660), with every capability dropped.
        user: "root",
        networks: [{ network }],
        memoryMb: settings.memory.containers,
        entrypoint: ["/usr/local/bin/containers-health"],
        env: {
          MONITORING_CONTAINERS: watched,
          MONITORING_SELF: MONITORING_HOSTS.containers,
          MONITORING_TEXTFILE_DIR: JOB_METRICS_DIR,
          MONITORING_CONTAINERS_EVERY: String(Math.min(15, settings.scrapeIntervalSeconds)),
        },
        volumes: [
          { source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
          { source: jobMetrics, target: JOB_METRICS_DIR },
        ],
        readOnlyRootfs: true,
        healthcheck: {
          test: ["CMD-SHELL", `find ${JOB_METRICS_DIR}/containers.prom -mmin -2 | grep -q .`],
          intervalSeconds: 30,
        },
        exceptions: { dockerSocket: "reads the state and health of the host's containers (read-only) for the containers-health alerts" },
      },
      { parent: this },
    );

    this.registerOutputs({ probes: this.probes.map((p) => p.name) });
  }
}
