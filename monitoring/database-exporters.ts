import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer, SECRETS_DIR, type PublishedPort } from "../platform/container";
import { EXPORTER_LOGIN, type DeclaredDatabase, type HostContext } from "../platform/host-context";
import type { PinnedImage } from "../platform/images";
import type { DatabaseExporter } from "../platform/watched-host";
import { PORTS } from "./config";

/**
 * The PostgreSQL and Redis exporters of a host (Debian's, in monitoring/image): one container per kind that
 * reaches every database of that kind the host declared (platform/postgres.ts, platform/redis.ts record them
 * in HostContext.databases), on each database's own internal network, as the `exporter` login of least
 * privilege (pg_monitor; a Redis ACL user allowed INFO and the latency and slow-log reports). A new Nextcloud
 * tenant's database and Redis are scraped with no extra line. None where the host runs no database.
 *
 * Debian bookworm's postgres_exporter is 0.11.1, before its `/probe?target=` (0.12): it takes several data
 * sources at once (DATA_SOURCE_NAME, comma-separated), each database's series labelled `server="<host>:5432"`;
 * its `pg_up` is 0 only when no database answers. Its two new-style collectors (`database`, `bgwriter`) label
 * nothing by server and fail the whole scrape with duplicates when given two sources: they are off, and
 * the database sizes come from a query of ours instead (POSTGRES_QUERIES), labelled by server like the rest. redis_exporter 1.45 scrapes each target given as
 * `/scrape?target=redis://<host>:6379`, its `redis_up` per target, the passwords from a JSON file by URI.
 */

export const DATABASE_EXPORTER_PORTS = { postgres: PORTS.postgres, redis: PORTS.redis } as const;
export type DatabaseKind = keyof typeof DATABASE_EXPORTER_PORTS;

const target = (db: Pick<DeclaredDatabase, "kind" | "host" | "port">) =>
  db.kind === "redis" ? `redis://${db.host}:${db.port}` : `${db.host}:${db.port}`;

/** The exporters a host needs for the databases it declared: one per kind present, targets sorted. */
export function databaseExporters(databases: readonly Pick<DeclaredDatabase, "kind" | "host" | "port">[]): DatabaseExporter[] {
  return (Object.keys(DATABASE_EXPORTER_PORTS) as DatabaseKind[]).flatMap((kind) => {
    const targets = [...new Set(databases.filter((db) => db.kind === kind).map(target))].sort();
    return targets.length > 0 ? [{ kind, port: DATABASE_EXPORTER_PORTS[kind], targets }] : [];
  });
}

export interface DatabaseExporterArgs {
  service: string;
  image: PinnedImage;
  /** Container names by kind, e.g. `{ postgres: "agent-postgres", redis: "agent-redis" }`. */
  names: Record<DatabaseKind, string>;
  /** The networks the exporters serve their metrics on (besides the databases' own). */
  networks: { network: docker.Network }[];
  memoryMb: Record<DatabaseKind, number>;
  /** On a watched host: each exporter's port is published, for this reason. */
  publishReason?: string;
}

/**
 * postgres_exporter's queries file (`--extend.query-path`): each database's size, as `pg_database_size_bytes`
 * (the name of the `database` collector's series), per server.
 */
export const POSTGRES_QUERIES = `pg_database:
  query: "SELECT datname, pg_database_size(datname) AS size_bytes FROM pg_database WHERE NOT datistemplate"
  metrics:
    - datname:
        usage: "LABEL"
        description: "Name of the database"
    - size_bytes:
        usage: "GAUGE"
        description: "Disk space used by the database"
`;
const QUERIES_PATH = "/etc/monitoring/postgres-queries.yml";

/**
 * The name of a stopped container does not resolve, and on an internal network Docker's resolver then waits
 * for upstream servers it cannot reach (20 s for getent): without a bound, one database or Redis down would
 * outlast the scrape's timeout and lose every other one's series with it. The bound covers the name lookup
 * (Go's dialer), and for PostgreSQL the login too (lib/pq). The network is the host's own: no TLS.
 */
const PG_OPTIONS = "sslmode=disable&connect_timeout=2";
const REDIS_TIMEOUT = "1s";

/** nobody's ids: numeric, as secret files need (platform/container.ts secretsOwner). */
const NOBODY = "65534:65534";
const httpHealth = (port: number, path: string) => ["CMD", "curl", "-fsS", "-o", "/dev/null", `http://127.0.0.1:${port}${path}`];

/**
 * The host's database exporters (read from `context.databases`: build after the services that declare
 * databases). Returns what each scrapes, for the scrape configuration.
 */
export function databaseExporterContainers(context: HostContext, args: DatabaseExporterArgs, parent: pulumi.Resource): DatabaseExporter[] {
  const exporters = databaseExporters(context.databases);
  for (const exporter of exporters) {
    const databases = context.databases.filter((db) => db.kind === exporter.kind);
    const ports: PublishedPort[] | undefined = args.publishReason ? [{ container: exporter.port, host: exporter.port }] : undefined;
    const common = {
      service: args.service,
      role: "app" as const,
      image: args.image,
      user: NOBODY,
      networks: [...args.networks, ...[...new Set(databases.map((db) => db.network))].map((network) => ({ network }))],
      memoryMb: args.memoryMb[exporter.kind],
      ports,
      exceptions: args.publishReason ? { publishPorts: args.publishReason } : undefined,
      healthcheck: { test: httpHealth(exporter.port, exporter.kind === "redis" ? "/health" : "/"), intervalSeconds: 30 },
    };
    if (exporter.kind === "postgres") {
      // Every database's data source in one secret file; the wrapper of platform/secrets-to-env.ts exports it
      // as DATA_SOURCE_NAME in the exporter's process only (0.11 reads the `_FILE` forms for one source only).
      const dataSources = pulumi
        .all(databases.map((db) => db.exporterPassword))
        .apply((passwords) =>
          databases.map((db, i) => `postgresql://${EXPORTER_LOGIN}:${passwords[i]}@${db.host}:${db.port}/postgres?${PG_OPTIONS}`).join(","),
        );
      serviceContainer(
        context,
        args.names.postgres,
        {
          ...common,
          secretEnv: { DATA_SOURCE_NAME: dataSources },
          secretsToEnv: {
            entrypoint: [],
            command: [
              "prometheus-postgres-exporter",
              `--web.listen-address=:${exporter.port}`,
              "--no-collector.database",
              "--no-collector.bgwriter",
              `--extend.query-path=${QUERIES_PATH}`,
            ],
          },
          files: [{ path: QUERIES_PATH, content: POSTGRES_QUERIES }],
        },
        { parent },
      );
    } else {
      // redis_exporter's password file: a JSON object from each target's URI to its password.
      const passwords = pulumi
        .all(databases.map((db) => db.exporterPassword))
        .apply((values) => JSON.stringify(Object.fromEntries(databases.map((db, i) => [target(db), values[i]]))));
      serviceContainer(
        context,
        args.names.redis,
        {
          ...common,
          secretEnv: { REDIS_EXPORTER_PASSWORDS: passwords },
          command: [
            "prometheus-redis-exporter",
            `--web.listen-address=:${exporter.port}`,
            `--redis.user=${EXPORTER_LOGIN}`,
            `--redis.password-file=${SECRETS_DIR}/REDIS_EXPORTER_PASSWORDS`,
            // Scraped at /scrape?target= only: no Redis of its own at /metrics.
            "--redis.addr=",
            `--connection-timeout=${REDIS_TIMEOUT}`,
          ],
          readOnlyRootfs: true,
        },
        { parent },
      );
    }
  }
  return exporters;
}
