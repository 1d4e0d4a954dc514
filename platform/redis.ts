import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "./container";
import { EXPORTER_LOGIN, type HostContext } from "./host-context";

export const REDIS_IMAGE = "redis:7.4.1-bookworm";
export const REDIS_PORT = 6379;

/**
 * What the host's Redis exporter may run (monitoring/database-exporters.ts; redis_exporter 1.45's calls):
 * INFO and the latency and slow-log reports, nothing that reads keys or the configuration (CONFIG GET
 * would show the application's password).
 */
export const EXPORTER_ACL = "-@all +ping +info +client|setname +latency|latest +latency|histogram +slowlog|get +slowlog|len";

export interface RedisArgs {
  context: HostContext;
  service: string;
  network: docker.Network;
  memoryMb: number;
  image?: string;
}

/**
 * Memory Redis may use for data, out of the container's limit: the rest is for its own overhead,
 * connections and allocator fragmentation. Without it Redis has no limit (the 64-bit default) and the
 * kernel kills it at the container's limit instead of Redis evicting keys (platform/upstream-images.ts).
 */
export function redisMaxMemoryMb(containerMb: number): number {
  return Math.floor(containerMb * 0.75);
}

/**
 * A password-protected Redis cache for one application, on its internal network, without persistence.
 * At its memory bound it evicts the least recently used keys: everything in it can be recomputed (cache)
 * or is short-lived (file locks, which expire).
 */
export class Redis extends pulumi.ComponentResource {
  readonly hostname: string;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:building-block:Redis", name, {}, opts);
    const { context } = args;
    this.hostname = name;
    this.password = context.password(name, this);
    const exporterPassword = context.password(`${name}-${EXPORTER_LOGIN}`, this);
    context.databases.push({ kind: "redis", host: name, port: REDIS_PORT, network: args.network, exporterPassword });

    serviceContainer(
      context,
      name,
      {
        service: args.service,
        role: "cache",
        image: context.upstreamImage(name, args.image ?? REDIS_IMAGE, this),
        user: "redis",
        networks: [{ network: args.network }],
        memoryMb: args.memoryMb,
        // A file (platform/container.ts; 999 is the image's redis user). redis-server reads it as configuration
        // on its stdin (`-`), never on its command line (visible in ps) nor in its environment; so is the
        // exporter's ACL user, with its own password.
        secretEnv: { REDIS_PASSWORD: this.password, REDIS_EXPORTER_PASSWORD: exporterPassword },
        secretsOwner: "999:999",
        command: [
          "sh",
          "-c",
          `exec redis-server - --save "" --appendonly no --maxmemory ${redisMaxMemoryMb(args.memoryMb)}mb --maxmemory-policy allkeys-lru <<EOF\nrequirepass $(cat "$REDIS_PASSWORD_FILE")\nuser ${EXPORTER_LOGIN} on >$(cat "$REDIS_EXPORTER_PASSWORD_FILE") ${EXPORTER_ACL}\nEOF`,
        ],
        readOnlyRootfs: true,
        healthcheck: { test: ["CMD-SHELL", 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli ping'], intervalSeconds: 10 },
      },
      { parent: this },
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
