import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "./container";
import type { HostContext } from "./host-context";

export const POSTGRES_IMAGE = "postgres:16.4-bookworm";
/**
 * After the image's stop signal (SIGINT, fast shutdown) PostgreSQL writes a shutdown checkpoint; killed
 * before the end, it recovers from its WAL at the next start. The image's Dockerfile: "even 90 seconds
 * may not be long enough" (platform/upstream-images.ts).
 */
const STOP_GRACE_SECONDS = 90;

export interface PostgresArgs {
  context: HostContext;
  /** Service the database belongs to (plan column). */
  service: string;
  /** Internal network shared with the application only. */
  network: docker.Network;
  database: string;
  user: string;
  memoryMb: number;
  image?: string;
}

/**
 * A PostgreSQL building block for one application: its own container, volume and generated password,
 * reachable only on the application's internal network. Runs as the image's `postgres` user, so it
 * needs no capability (the image's data directory is already owned by that user).
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

    serviceContainer(
      context,
      name,
      {
        service: args.service,
        role: "database",
        image: context.upstreamImage(name, args.image ?? POSTGRES_IMAGE, this),
        user: "postgres",
        networks: [{ network: args.network }],
        memoryMb: args.memoryMb,
        env: { POSTGRES_DB: args.database, POSTGRES_USER: args.user },
        // POSTGRES_PASSWORD_FILE, read by the image's entrypoint at the first start; 999 is its postgres user.
        secretEnv: { POSTGRES_PASSWORD: this.password },
        secretsOwner: "999:999",
        volumes: [{ source: context.volume(`${name}-data`, this), target: "/var/lib/postgresql/data" }],
        healthcheck: { test: ["CMD", "pg_isready", "-U", args.user, "-d", args.database], intervalSeconds: 10 },
        stopGraceSeconds: STOP_GRACE_SECONDS,
      },
      { parent: this },
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
