import * as pulumi from "@pulumi/pulumi";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import { AGENT_PORT, type AgentService } from "./agent-settings";
import { PORTS } from "./config";
import { databaseExporterContainers } from "./database-exporters";
import { containersHealth, nodeExporter } from "./exporters";

/** Container names of the agent. */
export const AGENT_HOSTS = {
  node: "agent-node",
  containers: "agent-containers",
  postgres: "agent-postgres",
  redis: "agent-redis",
} as const;

/**
 * The agent of a host watched from another host's monitoring: the same node exporter and containers-health
 * as on the monitoring host (monitoring/exporters.ts), and the database exporters where the host runs
 * PostgreSQL or Redis (monitoring/database-exporters.ts), from the same image, and nothing else. The
 * exporters' ports are published on the host; the host's firewall opens them to the monitoring host's address
 * only (hosts/render.ts). That restriction is the whole protection, on purpose: what they serve is read-only
 * and holds no secret (load, disk, memory, the containers' names and health, the jobs' last results, the
 * databases' statistics; the Redis exporter's `/scrape` knows passwords for this host's Redis only), a TCP
 * connection cannot come from a forged address (the handshake needs the answer). A bearer token sent in clear
 * text over the same path would guard nothing more against someone on that path, and TLS would need a
 * certificate authority shared by both stacks (docs/alerts.md).
 */
export class Agent extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[] = [];

  constructor(name: string, args: ServiceArgs<typeof AgentService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Agent", name, {}, opts);
    const { context, settings } = args;
    // Routed (not internal): Docker publishes no port of a container that is only on internal networks.
    const network = context.network("agent", { internal: false }, this);
    const common = {
      service: "agent",
      image: context.ownImage("monitoring", "monitoring/image", this),
      networks: [{ network }],
      jobMetrics: context.jobMetricsVolume(),
    };
    nodeExporter(
      context,
      AGENT_HOSTS.node,
      {
        ...common,
        memoryMb: settings.memory.node,
        ports: [{ container: PORTS.node, host: AGENT_PORT }],
        publishReason: `scraped by the monitoring host (${settings.monitoringHost}); the firewall opens the port to its address only`,
      },
      this,
    );
    // The host's PostgreSQL and Redis exporters (built after the services that declare databases), published
    // like the node exporter and opened to the monitoring host only (monitoring/agent-settings.ts AGENT_PORTS).
    databaseExporterContainers(
      context,
      {
        ...common,
        names: { postgres: AGENT_HOSTS.postgres, redis: AGENT_HOSTS.redis },
        memoryMb: settings.memory,
        publishReason: `scraped by the monitoring host (${settings.monitoringHost}); the firewall opens the port to its address only`,
      },
      this,
    );
    containersHealth(
      context,
      AGENT_HOSTS.containers,
      { ...common, memoryMb: settings.memory.containers, everySeconds: settings.containersEverySeconds, watches: () => true },
      this,
    );
    this.registerOutputs({});
  }
}
