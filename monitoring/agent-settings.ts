import { z } from "zod";
import { declareService } from "../platform/service";
import { memoryMb } from "../platform/settings";
import { PORTS } from "./config";

/** The agent's node exporter port, published on the watched host. */
export const AGENT_PORT = PORTS.node;
/**
 * Every port the agent may publish: the node exporter's, and its database exporters' where the host runs
 * PostgreSQL or Redis (monitoring/database-exporters.ts). The host's firewall opens them all to the monitoring
 * host (hosts/render.ts); where no database runs, nothing listens on theirs.
 */
export const AGENT_PORTS = [AGENT_PORT, PORTS.postgres, PORTS.redis];

/**
 * `infra:services.agent`: on a host without monitoring, the exporters that the monitoring host on another
 * machine scrapes over the network (issue 14). The monitoring host probes this host's routes and ports too,
 * derived from this stack (stacks/watched-hosts.ts); nothing about them is written here.
 */
export const AgentSettings = z.strictObject({
  /**
   * The stack of the host whose monitoring watches this one, e.g. `pica02` (its file in stacks/ must run
   * `monitoring` and give `infra:publicIpv4`): the agent's port is open to that address only.
   */
  monitoringHost: z.string().regex(/^[\w-]+$/, { error: "expected the name of a stack of this repository, such as pica02" }),
  /** How often the containers' health is asked of Docker. Default 15 s. */
  containersEverySeconds: z
    .int({ error: "expected a whole number of seconds" })
    .min(1, { error: "expected at least 1 second" })
    .default(15),
  /**
   * Memory limits: node exporter 24, containers-health 16, and where databases run the PostgreSQL exporter 24
   * and the Redis exporter 16 (MiB), as on the monitoring host.
   */
  memory: z.strictObject({ node: memoryMb(24), containers: memoryMb(16), postgres: memoryMb(24), redis: memoryMb(16) }).prefault({}),
});

export type AgentConfig = z.output<typeof AgentSettings>;

export const AgentService = declareService({
  name: "agent",
  summary: "the node exporter and the containers' health, scraped by the monitoring host on another machine",
  settings: AgentSettings,
  ownImages: ["monitoring"],
});
