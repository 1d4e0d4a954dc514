import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer } from "./container";
import type { HostContext } from "./host-context";

/** Our ACME client image (Debian's lego and a loop script): one build context, shared by every certificate. */
export const ACME_IMAGE = { name: "acme", context: "platform/acme/image" } as const;

/** Where the ACME container mounts the daemon's volume, and where it keeps lego's account and certificates. */
export const ACME_TARGET_DIR = "/tls";
export const ACME_STATE_DIR = "/var/lib/acme";

/**
 * The daemon's side of a renewal: how often its watcher (ldap-cert-watch, mail's cert-watch.sh) looks for
 * a new certificate (`infra:acme.reloadCheckSeconds`), under the variable name its image reads.
 */
export function certificateWatchEnv(context: HostContext, variable: string): Record<string, string> {
  const acme = context.config.acme;
  return acme ? { [variable]: String(acme.reloadCheckSeconds) } : {};
}

export interface AcmeCertificateArgs {
  context: HostContext;
  /** Service the certificate belongs to (plan column). */
  service: string;
  /** Names on the certificate, public DNS names of this host's domain; the first is its subject. */
  domains: string[];
  /** The volume the daemon reads `tls.crt` (full chain) and `tls.key` from. */
  target: docker.Volume;
  /** Numeric owner of both files: the user the daemon reads them as (the key is 0600, the certificate 0644). */
  owner: { uid: number; gid: number };
}

/**
 * A certificate from the host's ACME server (`infra:acme`, Let's Encrypt by default) for a daemon that no
 * web proxy fronts: one container of our image (platform/acme/image) that obtains it with a DNS-01
 * challenge at the registrar (lego, the provider and credentials of the stack), checks every day whether
 * it is due (`renewDaysBefore`) and renews it, and writes `tls.crt` and `tls.key` into the daemon's volume,
 * each replaced atomically, owned by the daemon's user. The daemon notices the new file and reloads
 * without a restart (ldap-cert-watch, mail's cert-watch.sh). lego's account key and certificates live in
 * the volume `<name>`; the container reaches the ACME server and the registrar's API on its own network.
 *
 * Healthy once a certificate valid for 7 more days is installed: `pulumi up` waits for it (first issuance
 * included), and a renewal that keeps failing turns the container unhealthy a week before expiry.
 * `docker kill --signal USR1 <name>` renews at once (after a key compromise, or to test a new provider).
 */
export class AcmeCertificate extends pulumi.ComponentResource {
  readonly container: docker.Container;

  constructor(name: string, args: AcmeCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:building-block:AcmeCertificate", name, {}, opts);
    const { context } = args;
    const { acme, acmeEmail } = context.config;
    if (acme === undefined || acmeEmail === undefined) {
      // The stack rules (stacks/rules.ts) report missing settings with their key path before any resource
      // is registered: reaching this means they were not handed to the host context.
      throw new Error(
        `${name}: the host context has no ACME settings; the stack must set infra:acme and infra:acmeEmail, ` +
          "and stacks/program.ts pass them to HostContext (acmeEmail: config.acmeEmail, acme: config.acme)",
      );
    }
    const dns = acme.dns;

    this.container = serviceContainer(
      context,
      name,
      {
        service: args.service,
        role: "app",
        image: context.ownImage(ACME_IMAGE.name, ACME_IMAGE.context, this),
        // Root without DAC_OVERRIDE: it writes only its own files, and hands the daemon's files over with CHOWN.
        user: "root",
        // Outgoing only: the ACME server and the registrar's API. Nothing connects to it.
        networks: [{ network: context.network(name, { internal: false }, this) }],
        memoryMb: acme.memoryMb,
        env: {
          ACME_DOMAINS: args.domains.join(" "),
          ACME_EMAIL: acmeEmail,
          ACME_SERVER: acme.server,
          ACME_RENEW_DAYS: String(acme.renewDaysBefore),
          ACME_DNS_PROVIDER: dns.provider,
          ACME_DNS_COMPLETE_PROPAGATION: String(dns.completePropagation),
          ...(dns.resolvers ? { ACME_DNS_RESOLVERS: dns.resolvers.join(" ") } : {}),
          ...(acme.serverCa ? { ACME_SERVER_CA: acme.serverCa } : {}),
          TLS_OWNER: `${args.owner.uid}:${args.owner.gid}`,
          ...dns.env,
        },
        // lego reads each <VAR>_FILE as <VAR> (go-acme.github.io/lego/dns: "_FILE suffix").
        secretEnv: dns.credentials,
        volumes: [
          {
            source: context.volume(name, this, { keep: "nothing", because: "lego registers a new ACME account and certificate" }),
            target: ACME_STATE_DIR,
          },
          { source: args.target, target: ACME_TARGET_DIR },
        ],
        readOnlyRootfs: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=1m" },
        capAdd: { CHOWN: "hands tls.crt and tls.key to the user of the daemon that reads them" },
        // A first issuance waits for the DNS record to reach every name server of the zone: minutes.
        healthcheck: { test: ["CMD", "/usr/local/bin/acme-certificate", "check"], intervalSeconds: 60, startPeriodSeconds: 600 },
      },
      { parent: this },
    );
    this.registerOutputs({ domains: args.domains });
  }
}
