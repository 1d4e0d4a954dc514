import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { serviceContainer } from "../services/container";
import type { DirectoryEndpoint, ServiceAccount } from "../services/endpoints";
import type { Host } from "../services/host";
import { memoryMb } from "../services/settings";

/** The read-only accounts under ou=services, one per consuming service (docs/contracts.md). */
export const SERVICE_ACCOUNTS = ["mail", "mattermost", "nextcloud", "hosts"] as const;
export type ServiceAccountName = (typeof SERVICE_ACCOUNTS)[number];

/** Service accounts that send mail through the mail server with their own address. */
const SENDING_ACCOUNTS: readonly ServiceAccountName[] = ["mattermost", "nextcloud"];

export const LdapSettings = z.strictObject({
  /** Name of the organisation in the base entry (`o`). Default: the stack's domain. */
  organisation: z.string().min(1, { error: "expected the association's name" }).optional(),
  /** Memory limit of slapd. Default 256 MiB (5,000 members use about 30 MiB). */
  memoryMb: memoryMb(256),
  /** Memory limit of the daily job (expire + slapcat export). Default 64 MiB. */
  jobMemoryMb: memoryMb(64),
  /**
   * Publish LDAPS (636) on the host, for the sssd of the other hosts. Default false: only the
   * containers on the `directory` network reach it.
   */
  publishLdaps: z.boolean().default(false),
  /**
   * Make a self-signed certificate at the first start when the `ldap-tls` volume has none (local).
   * Default false: in production tls.crt and tls.key are put in that volume.
   */
  selfSignedTls: z.boolean().default(false),
  /** UTC time of the daily job: lock expired accesses, then export the directory to `ldap-backup`. Default 03:00. */
  dailyAt: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "expected a time HH:MM (UTC) such as 03:00" })
    .default("03:00"),
  /** slapd log level (`none`, `stats`, `stats2`, ...), to the container's log. Default stats (one line per operation). */
  logLevel: z.enum(["none", "stats", "stats2", "acl", "any"]).default("stats"),
});

export type LdapConfig = z.output<typeof LdapSettings>;

/** `asso.localhost` -> `dc=asso,dc=localhost`. */
export function baseDnOf(domain: string): string {
  return domain
    .split(".")
    .map((label) => `dc=${label}`)
    .join(",");
}

/** Env name of a service account's password: `LDAP_SERVICE_PASSWORD_MAIL`. */
export function servicePasswordEnv(service: ServiceAccountName): string {
  return `LDAP_SERVICE_PASSWORD_${service.toUpperCase()}`;
}

/**
 * The association's directory (OpenLDAP, our image in ldap/image): people, groups and the service
 * accounts of the other services. Reachable as ldaps://ldap.<domain>:636 on the internal `directory`
 * network (the name its certificate carries in production, from ACME or the operator);
 * sets `host.directory` so that mail, Mattermost, Nextcloud and the hosts find it.
 *
 * A second container from the same image, `ldap-daily`, locks the expired accesses every day and
 * exports the directory (slapcat) to the `ldap-backup` volume that backups pick up.
 */
export class Directory extends pulumi.ComponentResource {
  /** The public name, so that the production certificate matches for clients on this host too. */
  readonly url: string;
  readonly baseDn: string;

  constructor(name: string, args: { host: Host; settings: LdapConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Directory", name, {}, opts);
    const { host, settings } = args;
    this.url = `ldaps://${host.subdomain("ldap")}:636`;
    const domain = host.config.domain;
    this.baseDn = baseDnOf(domain);

    const network = host.network("directory", { internal: true }, this);
    const volumes = {
      data: host.volume("ldap-data", this),
      config: host.volume("ldap-config", this),
      tls: host.volume("ldap-tls", this),
      // What clients mount to trust the directory: the certificate only (the entrypoint copies it).
      certificate: host.volume("ldap-certificate", this),
      // The local socket (ldapi): the job reaches slapd there as the openldap user, without a password.
      socket: host.volume("ldap-run", this),
      backup: host.volume("ldap-backup", this),
    };
    const image = host.ownImage("ldap", "ldap/image", this);
    const adminPassword = host.password("ldap-admin", this);
    const accounts = Object.fromEntries(
      SERVICE_ACCOUNTS.map((service): [ServiceAccountName, ServiceAccount] => [
        service,
        {
          dn: `cn=${service},ou=services,${this.baseDn}`,
          password: host.password(`ldap-${service}`, this),
          mail: SENDING_ACCOUNTS.includes(service) ? `${service}@${domain}` : undefined,
        },
      ]),
    ) as Record<ServiceAccountName, ServiceAccount>;

    // Other hosts' sssd reach LDAPS through a published port, which needs a network with a route out.
    const published = settings.publishLdaps ? host.network("directory-published", { internal: false }, this) : undefined;
    const tmp = { "/tmp": "rw,noexec,nosuid,size=16m" };

    serviceContainer(
      host,
      "ldap",
      {
        service: "ldap",
        role: "app",
        image,
        user: "openldap",
        networks: [
          { network, aliases: ["ldap", `ldap.${domain}`] },
          ...(published ? [{ network: published }] : []),
        ],
        memoryMb: settings.memoryMb,
        env: {
          LDAP_DOMAIN: domain,
          LDAP_BASE_DN: this.baseDn,
          LDAP_ORGANISATION: settings.organisation ?? domain,
          LDAP_TLS_SELF_SIGNED: String(settings.selfSignedTls),
          LDAP_LOG_LEVEL: settings.logLevel,
          LDAP_ADMIN_PASSWORD: adminPassword,
          ...Object.fromEntries(SERVICE_ACCOUNTS.map((service) => [servicePasswordEnv(service), accounts[service].password])),
        },
        volumes: [
          { source: volumes.data, target: "/var/lib/ldap" },
          { source: volumes.config, target: "/etc/ldap/slapd.d" },
          { source: volumes.tls, target: "/etc/ldap/tls" },
          { source: volumes.certificate, target: "/etc/ldap/certificate" },
          { source: volumes.socket, target: "/run/slapd" },
        ],
        readOnlyRootfs: true,
        tmpfs: tmp,
        healthcheck: { test: ["CMD", "ldapsearch", "-H", "ldapi:///", "-x", "-b", "", "-s", "base"], intervalSeconds: 10 },
        ports: settings.publishLdaps ? [{ container: 636, host: 636 }] : [],
        exceptions: settings.publishLdaps
          ? { publishPorts: "LDAPS for the sssd of the association's other hosts (publishLdaps)" }
          : undefined,
      },
      { parent: this },
    );

    serviceContainer(
      host,
      "ldap-daily",
      {
        service: "ldap",
        // Long-running (it sleeps until the next run), so an app for the restart policy; role job means one-shot.
        role: "app",
        image,
        user: "openldap",
        entrypoint: ["/usr/local/bin/ldap-daily"],
        networks: [{ network }],
        memoryMb: settings.jobMemoryMb,
        env: { LDAP_BASE_DN: this.baseDn, LDAP_DAILY_AT: settings.dailyAt },
        volumes: [
          // slapcat reads the database beside slapd (LMDB allows concurrent readers; it needs the lock file).
          { source: volumes.data, target: "/var/lib/ldap" },
          { source: volumes.config, target: "/etc/ldap/slapd.d", readOnly: true },
          { source: volumes.tls, target: "/etc/ldap/tls", readOnly: true },
          { source: volumes.socket, target: "/run/slapd" },
          { source: volumes.backup, target: "/var/backups/ldap" },
        ],
        readOnlyRootfs: true,
        tmpfs: tmp,
        healthcheck: { test: ["CMD", "ldapsearch", "-H", "ldapi:///", "-x", "-b", "", "-s", "base"], intervalSeconds: 15 },
      },
      { parent: this },
    );

    const endpoint: DirectoryEndpoint = {
      url: this.url,
      baseDn: this.baseDn,
      network,
      certificates: volumes.certificate,
      serviceAccount(service: string): ServiceAccount {
        if (!(SERVICE_ACCOUNTS as readonly string[]).includes(service)) {
          throw new Error(`no directory account for '${service}'; expected one of: ${SERVICE_ACCOUNTS.join(", ")}`);
        }
        return accounts[service as ServiceAccountName];
      },
    };
    host.directory = endpoint;
    this.registerOutputs({ url: this.url, baseDn: this.baseDn });
  }
}
