import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "./container";
import type { HostContext } from "./host-context";

export const REDIS_IMAGE = "redis:7.4.1-bookworm";

export interface RedisArgs {
  context: HostContext;
  service: string;
  network: docker.Network;
  memoryMb: number;
  image?: string;
}

/** A password-protected Redis cache for one application, on its internal network, without persistence. */
export class Redis extends pulumi.ComponentResource {
  readonly hostname: string;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:building-block:Redis", name, {}, opts);
    const { context } = args;
    this.hostname = name;
    this.password = context.password(name, this);

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
        // The password reaches redis-server through the environment, never the command line (visible in ps).
        env: { REDIS_PASSWORD: this.password, REDISCLI_AUTH: this.password },
        command: ["sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD" --save "" --appendonly no'],
        readOnlyRootfs: true,
        healthcheck: { test: ["CMD", "redis-cli", "ping"], intervalSeconds: 10 },
      },
      { parent: this },
    );
    this.registerOutputs({ hostname: this.hostname });
  }
}
