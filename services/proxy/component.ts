import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "../../platform/container";
import type { HostContext } from "../../platform/host-context";
import { goDuration } from "../../platform/provider-forms";
import { traefikTlsOptions } from "../../platform/tls-policy";
import { PROXY_UPLOAD_SECONDS } from "../../platform/upstream-images";
import type { ProxyConfig } from "./settings";

/**
 * Where the proxy finds the TLS policy: Traefik takes TLS options from its dynamic configuration in a file
 * (never from labels). The file is written at start from PROXY_TLS_OPTIONS into a tmpfs, not uploaded: the
 * Docker provider uploads to / , which a read-only root filesystem refuses even for a path on a mount.
 */
const PROXY_TLS_DIR = "/run/traefik";
export const PROXY_TLS_FILE = `${PROXY_TLS_DIR}/tls.yml`;

/**
 * Traefik: the only container publishing 80/443. Services declare routes on their containers
 * (platform/container.ts turns them into labels); HTTP redirects to HTTPS.
 */
export class Proxy extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: { context: HostContext; settings: ProxyConfig; acmeEmail?: string; aliases: string[] },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("infra:service:Proxy", name, {}, opts);
    const { context, settings } = args;
    const acme = settings.tls === "acme";
    const acmeVolume = context.volume("proxy-acme", this, {
      keep: "nothing",
      because: "Let's Encrypt issues the certificates again at the first start",
    });

    serviceContainer(
      context,
      "proxy",
      {
        service: "proxy",
        role: "proxy",
        image: context.upstreamImage("proxy", settings.image, this),
        // The public names of this host's routes, for containers that call them from inside (see stacks/program.ts);
        // and the internal networks of the routed containers kept off the edge network (Route.via).
        networks: [{ network: context.edge, aliases: args.aliases }, ...[...context.proxyNetworks].map((network) => ({ network }))],
        memoryMb: settings.memoryMb,
        // The image's /entrypoint.sh only prefixes `traefik`: this wrapper writes the policy, then starts it.
        entrypoint: ["/bin/sh", "-c", `printf '%s' "$PROXY_TLS_OPTIONS" > ${PROXY_TLS_FILE} && exec traefik "$@"`, "proxy"],
        env: { PROXY_TLS_OPTIONS: traefikTlsOptions() },
        command: [
          "--ping=true",
          "--log.level=INFO",
          "--accesslog=true",
          "--api.dashboard=false",
          "--providers.docker=true",
          "--providers.docker.exposedbydefault=false",
          "--providers.docker.network=edge",
          // The TLS policy (platform/tls-policy.ts): the `default` TLS options of every router.
          `--providers.file.filename=${PROXY_TLS_FILE}`,
          "--entrypoints.web.address=:80",
          "--entrypoints.web.http.redirections.entrypoint.to=websecure",
          "--entrypoints.web.http.redirections.entrypoint.scheme=https",
          "--entrypoints.websecure.address=:443",
          // Traefik reads a whole request, body included, within 60 s by default: longer uploads (Nextcloud
          // chunks, Mattermost attachments on a slow link) would be cut (platform/upstream-images.ts).
          `--entrypoints.websecure.transport.respondingTimeouts.readTimeout=${goDuration(PROXY_UPLOAD_SECONDS)}`,
          ...(acme
            ? [
                `--certificatesresolvers.letsencrypt.acme.email=${args.acmeEmail}`,
                "--certificatesresolvers.letsencrypt.acme.storage=/acme/acme.json",
                "--certificatesresolvers.letsencrypt.acme.tlschallenge=true",
              ]
            : []),
        ],
        healthcheck: { test: ["CMD", "traefik", "healthcheck", "--ping"] },
        readOnlyRootfs: true,
        tmpfs: { [PROXY_TLS_DIR]: "rw,noexec,nosuid,size=64k" },
        volumes: [
          { source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
          { source: acmeVolume, target: "/acme" },
        ],
        ports: [
          { container: 80, host: 80 },
          { container: 443, host: 443 },
        ],
        exceptions: {
          publishPorts: "the proxy is the web entry point of the host (80 redirects to 443)",
          dockerSocket: "Traefik reads the routes from container labels (read-only socket)",
        },
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
