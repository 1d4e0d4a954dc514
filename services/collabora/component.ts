import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../../platform/container";
import type { OfficeEndpoint } from "../../platform/office";
import type { ServiceArgs, ServiceOutputs } from "../../platform/service";
import { nextcloudContainerName, tenantAddresses, type TenantAddress } from "../../platform/tenants";
import type { CollaboraService } from "./settings";

/** Name of the container, which is also its host name on the edge network (Nextcloud fetches discovery there). */
export const COLLABORA_CONTAINER = "collabora";
export const COLLABORA_PORT = 9980;
/**
 * The image's own start, which the container runs behind the platform's secrets wrapper (the start script
 * reads the admin password from the `password` variable only): `ENTRYPOINT ["/start-collabora-online.sh"]` and
 * no CMD (CollaboraOnline/online@09b1ae95:docker/from-packages/Dockerfile, last line); the script is
 * `#!/bin/sh` on a Debian base and ignores arguments (@07d76bf7:docker/from-packages/scripts/start-collabora-online.sh).
 */
const UPSTREAM_START = { entrypoint: ["/start-collabora-online.sh"], command: [] };
/**
 * Owner of the secret files: the image's user, `USER 1001` after `usermod -u 1001 cool && groupmod -g 1001 cool`
 * (same Dockerfile, a stored copy newer than the pinned tag; CollaboraOnline/online#11232 moved cool from
 * 100/101 to 1001/1001). Should the pinned image still run as 100, the wrapper refuses to start, saying
 * the file is unreadable (docs/first-deployment.md).
 */
const COOL_USER = "1001:1001";
/** coolwsd saves the open documents back to Nextcloud when it is stopped (platform/upstream-images.ts). */
const STOP_GRACE_SECONDS = 60;

/**
 * The WOPI hosts Collabora accepts, one alias group per tenant (`aliasgroup1`, `aliasgroup2`, ...): the
 * tenant's public URL, which is its callback URL and so the WOPISrc of its documents (the frame is only
 * allowed for the WOPISrc's host), and its edge-network name, the callback URL of documents opened before.
 * A tenant added at the end of the list adds exactly one group and leaves the others as they are.
 */
export function aliasGroups(tenants: TenantAddress[]): Record<string, string> {
  return Object.fromEntries(
    tenants.map((tenant, index) => [
      `aliasgroup${index + 1}`,
      `https://${tenant.domain}:443,http://${nextcloudContainerName(tenant.id)}:80`,
    ]),
  );
}

/**
 * Capabilities and jails. CODE normally builds a chroot jail per document with `coolforkit`, which gets
 * CHOWN, FOWNER, MKNOD and SYS_CHROOT from file capabilities, and bind-mounts the jail tree (SYS_ADMIN).
 * Our containers run with no-new-privileges, which makes the kernel ignore file capabilities, so adding
 * those capabilities to the container would not reach coolforkit (it refuses to start, see
 * CollaboraOnline/online#8164). We therefore run CODE with no capability at all: no jail tree mounts
 * (`mount_jail_tree=false`, so no SYS_ADMIN) and kits without capabilities (`security.capabilities=false`).
 * Documents are then isolated from each other by process only, and from the host by this hardened
 * container (all capabilities dropped, no-new-privileges, memory limit, edge network only).
 */
const EXTRA_PARAMS = [
  // TLS is terminated by the proxy; CODE speaks plain HTTP on the edge network and generates https URLs.
  "--o:ssl.enable=false",
  "--o:ssl.termination=true",
  "--o:mount_jail_tree=false",
  "--o:security.capabilities=false",
  "--o:logging.level=warning",
];

/** Collabora Online (CODE): one instance on `office.<domain>` serving the Nextcloud of every tenant of the host. */
export class Collabora extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[];
  readonly provides: { office: OfficeEndpoint };

  constructor(name: string, args: ServiceArgs<typeof CollaboraService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Collabora", name, {}, opts);
    const { context, settings } = args;
    const publicHost = context.subdomain("office");

    serviceContainer(
      context,
      COLLABORA_CONTAINER,
      {
        service: "collabora",
        role: "app",
        image: context.upstreamImage("collabora", settings.image, this),
        networks: [{ network: context.edge }],
        memoryMb: settings.memoryMb,
        env: {
          ...aliasGroups(tenantAddresses(context.config)),
          server_name: publicHost,
          // With the proxy's self-signed certificate (local), Collabora cannot verify Nextcloud's on the callback.
          extra_params: [...EXTRA_PARAMS, ...(context.config.tls === "self-signed" ? ["--o:ssl.ssl_verification=false"] : [])].join(" "),
          dictionaries: settings.dictionaries.join(" "),
          // No self-signed certificate is needed: CODE serves plain HTTP behind the proxy.
          DONT_GEN_SSL_CERT: "1",
          // Admin console (/browser/dist/admin/admin.html): generated credentials, kept in the state.
          username: "admin",
        },
        secretEnv: { password: context.password("collabora-admin", this) },
        secretsOwner: COOL_USER,
        secretsToEnv: UPSTREAM_START,
        routes: [{ host: publicHost, port: COLLABORA_PORT }],
        stopGraceSeconds: STOP_GRACE_SECONDS,
        // The image has bash but not necessarily curl: ask for the capabilities document over /dev/tcp.
        healthcheck: {
          test: [
            "CMD",
            "bash",
            "-c",
            `exec 3<>/dev/tcp/127.0.0.1/${COLLABORA_PORT} && printf 'GET /hosting/capabilities HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3`,
          ],
          startPeriodSeconds: 60,
        },
      },
      { parent: this },
    );

    this.urls = [`https://${publicHost}`];
    this.provides = { office: { internalUrl: `http://${COLLABORA_CONTAINER}:${COLLABORA_PORT}`, publicUrl: this.urls[0] } };
    this.registerOutputs({ urls: this.urls });
  }
}
