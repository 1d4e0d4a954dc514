/**
 * What a host's exporter of one database kind scrapes (monitoring/database-exporters.ts): the databases by
 * `host:port` (PostgreSQL) or `redis://host:port` (Redis).
 */
export interface DatabaseExporter {
  kind: "postgres" | "redis";
  /** The exporter's port (published on a watched host, open to the monitoring host only). */
  port: number;
  targets: string[];
}

/**
 * A host watched from another one's monitoring (issue 14): what the watched host runs (monitoring/agent.ts,
 * `infra:services.agent`) and what the monitoring host scrapes and probes of it. The watched host's program
 * computes this from what its services declared (stacks/program.ts, stack output `watched`); the monitoring
 * host's program gets it by rendering the watched host's stack from its file in this repository
 * (stacks/watched-hosts.ts), so no route is written twice and no StackReference points back.
 */
export interface WatchedHost {
  /** The watched host's stack name: the `host` label of everything scraped from it. */
  host: string;
  /** Its public address (`infra:publicIpv4`): the agent's port and its published ports are reached there. */
  address: string;
  /** The agent's node exporter port, published on the host and open to the monitoring host only. */
  agentPort: number;
  /** The agent's database exporters (monitoring/database-exporters.ts), their ports published like agentPort. */
  databaseExporters: DatabaseExporter[];
  /**
   * Its public routes (host names the proxy serves), probed over HTTPS, with the service of each; `login`: behind
   * a login (`Route.forwardAuth`), probed for its refusal of a request without credentials.
   */
  routes: { service: string; host: string; login: boolean }[];
  /** The ports its services publish (the agent's own aside), probed by their well-known protocol. */
  ports: { service: string; port: number }[];
  /** Its jobs that report to the job-metrics volume (platform/job-metrics.ts): alerted on when they never do. */
  jobs: string[];
}
