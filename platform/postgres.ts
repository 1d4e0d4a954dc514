import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "./container";
import { EXPORTER_LOGIN, type HostContext } from "./host-context";

/**
 * Our PostgreSQL image (platform/postgres/image): Debian's postgresql-15 on the shared base, with the
 * official image's environment contract. Ours so that the backup's dump and restore run for real in the
 * tests (the official image cannot be pulled there) and its updates follow Debian's security archive;
 * Mattermost and Nextcloud both support 15. The backup image's pg_dump is the same major version.
 */
export const POSTGRES_IMAGE = { name: "postgres", context: "platform/postgres/image" } as const;
/**
 * After its stop signal (SIGINT, fast shutdown) PostgreSQL writes a shutdown checkpoint; killed before the
 * end, it recovers from its WAL at the next start. The official image's Dockerfile: "even 90 seconds may not
 * be long enough" (docker-library/postgres@3a94d965:16/bookworm/Dockerfile#L194-L221).
 */
const STOP_GRACE_SECONDS = 90;
/** The image's postgres user and group (platform/postgres/image/Dockerfile: the official image's 999). */
const POSTGRES_UID = 999;
export const POSTGRES_PORT = 5432;

export interface PostgresArgs {
  context: HostContext;
  /** Service the database belongs to (plan column). */
  service: string;
  /** Internal network shared with the application only. */
  network: docker.Network;
  database: string;
  user: string;
  memoryMb: number;
}

/**
 * A PostgreSQL building block for one application: its own container, volume and generated password,
 * reachable only on the application's internal network. Runs as the image's `postgres` user, so it
 * needs no capability. Its volume is never copied live: the host's backup dumps the database (pg_dump,
 * custom format) over the same network (platform/backup.ts).
 */
export class Postgres extends pulumi.ComponentResource {
  /** Host name of the database on the internal network. */
  readonly hostname: string;
  readonly database: string;
  readonly user: string;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:building-block:Postgres", name, {}, opts);
    const { context } = args;
    this.hostname = name;
    this.database = args.database;
    this.user = args.user;
    this.password = context.password(name, this);
    // The host's PostgreSQL exporter's login (pg_monitor only), set by the image's entrypoint at every start.
    const exporterPassword = context.password(`${name}-${EXPORTER_LOGIN}`, this);
    context.databases.push({ kind: "postgres", host: name, port: POSTGRES_PORT, network: args.network, exporterPassword });
    const dump = { host: name, network: args.network, database: args.database, user: args.user, password: this.password };

    serviceContainer(
      context,
      name,
      {
        service: args.service,
        role: "database",
        image: context.ownImage(POSTGRES_IMAGE.name, POSTGRES_IMAGE.context, this),
        user: "postgres",
        networks: [{ network: args.network }],
        memoryMb: args.memoryMb,
        env: { POSTGRES_DB: args.database, POSTGRES_USER: args.user },
        // POSTGRES_PASSWORD_FILE, read by the image's entrypoint at the first start; POSTGRES_EXPORTER_PASSWORD_FILE
        // at every start (the exporter's role, platform/postgres/image/bin/postgres-entrypoint).
        secretEnv: { POSTGRES_PASSWORD: this.password, POSTGRES_EXPORTER_PASSWORD: exporterPassword },
        secretsOwner: `${POSTGRES_UID}:${POSTGRES_UID}`,
        volumes: [{ source: context.volume(`${name}-data`, this, { keep: "dump", database: dump }), target: "/var/lib/postgresql/data" }],
        healthcheck: { test: ["CMD", "pg_isready", "-U", args.user, "-d", args.database], intervalSeconds: 10 },
        stopGraceSeconds: STOP_GRACE_SECONDS,
      },
      { parent: this },
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
