import * as pulumi from "@pulumi/pulumi";
import { AcmeCertificate, certificateWatchEnv } from "../platform/acme-certificate";
import { serviceContainer } from "../platform/container";
import {
  baseDnOf,
  DIRECTORY_HEALTHCHECK,
  directoryHostname,
  directoryUrl,
  isSendingAccount,
  LDAPS_PORT,
  SERVICE_ACCOUNTS,
  serviceAccountDn,
  serviceAccountMail,
  servicePasswordEnv,
  type DirectoryEndpoint,
  type ServiceAccount,
  type ServiceAccountName,
} from "../platform/directory";
import type { DnsRecord } from "../platform/dns";
import { JOB_METRICS_DIR } from "../platform/job-metrics";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import { slapdPolicy } from "../platform/tls-policy";
import type { LdapService } from "./settings";

/** A restore of the directory: the newest export of cn=config and of the data, with slapadd, into emptied volumes. */
const LDAP_RESTORE_SCRIPT = [
  "set -eu",
  "config=$(ls -1 /var/backups/ldap/config-*.ldif | tail -n 1); data=$(ls -1 /var/backups/ldap/data-*.ldif | tail -n 1)",
  "rm -rf /etc/ldap/slapd.d/* /var/lib/ldap/*",
  'slapadd -F /etc/ldap/slapd.d -n 0 -l "$config"',
  'slapadd -F /etc/ldap/slapd.d -n 1 -q -l "$data"',
  'echo "ldap restore: loaded $config and $data"',
].join("; ");

/** The image's openldap user (ids fixed in ldap/image/Dockerfile): it owns the volumes and reads the key. */
export const LDAP_USER = { name: "openldap", uid: 100, gid: 101 } as const;

/**
 * The association's directory (OpenLDAP, our image in ldap/image): people, groups and the service
 * accounts of the other services (platform/directory.ts is the contract). Reachable as
 * ldaps://ldap.<domain>:636 on the internal `directory` network (the name its certificate carries in
 * production); provides the `directory` endpoint to mail, Mattermost, Nextcloud and the hosts.
 *
 * A second container from the same image, `ldap-daily`, locks the expired accesses every day and
 * exports the directory (slapcat) to the `ldap-backup` volume that backups pick up. With `tls: acme`, a
 * third, `ldap-acme` (platform/acme-certificate.ts), keeps the certificate of `ldap.<domain>` in `ldap-tls`.
 */
export class DirectoryServer extends pulumi.ComponentResource implements ServiceOutputs {
  readonly provides: { directory: DirectoryEndpoint };
  /** Where LDAPS is published for the other hosts: the A record of `ldap.<domain>` they reach it by. */
  readonly dnsRecords: DnsRecord[];

  constructor(name: string, args: ServiceArgs<typeof LdapService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Directory", name, {}, opts);
    const { context, settings } = args;
    const domain = context.config.domain;
    const baseDn = baseDnOf(domain);

    const network = context.network("directory", { internal: true }, this);
    const volumes = {
      // LMDB files are not copied live: ldap-daily's slapcat export (ldap-backup) is what is kept, and loaded
      // back with slapadd (cn=config, then the data) into emptied volumes by a restore.
      data: context.volume("ldap-data", this, {
        keep: "elsewhere",
        in: "ldap-backup",
        because: "slapcat export of the data",
        restore: { container: "ldap-daily", command: ["sh", "-c", LDAP_RESTORE_SCRIPT] },
      }),
      config: context.volume("ldap-config", this, { keep: "elsewhere", in: "ldap-backup", because: "slapcat export of cn=config" }),
      tls: context.volume("ldap-tls", this, {
        keep: "nothing",
        because: "the certificate is issued again at the first start (ACME, or self-signed on local)",
      }),
      // What clients mount to trust the directory: the certificate only (the entrypoint copies it).
      certificate: context.volume("ldap-certificate", this, { keep: "nothing", because: "copied from ldap-tls at every start" }),
      // The local socket (ldapi): the job reaches slapd there as the openldap user, without a password.
      socket: context.volume("ldap-run", this, { keep: "nothing", because: "slapd's socket only" }),
      backup: context.volume("ldap-backup", this, { keep: "export", by: "ldap-daily (slapcat of cn=config and of the data)" }),
    };
    const image = context.ownImage("ldap", "ldap/image", this);
    const adminPassword = context.password("ldap-admin", this);
    const accounts = Object.fromEntries(
      SERVICE_ACCOUNTS.map((service): [ServiceAccountName, ServiceAccount] => [
        service,
        {
          dn: serviceAccountDn(service, baseDn),
          password: context.password(`ldap-${service}`, this),
          mail: isSendingAccount(service) ? serviceAccountMail(service, domain) : undefined,
        },
      ]),
    ) as Record<ServiceAccountName, ServiceAccount>;

    // Other hosts' sssd reach LDAPS through a published port, which needs a network with a route out.
    const published = settings.publishLdaps ? context.network("directory-published", { internal: false }, this) : undefined;
    const tmp = { "/tmp": "rw,noexec,nosuid,size=16m" };
    const tlsPolicy = slapdPolicy();

    serviceContainer(
      context,
      "ldap",
      {
        service: "ldap",
        role: "app",
        image,
        user: LDAP_USER.name,
        networks: [{ network, aliases: ["ldap", directoryHostname(domain)] }, ...(published ? [{ network: published }] : [])],
        memoryMb: settings.memoryMb,
        env: {
          LDAP_DOMAIN: domain,
          LDAP_BASE_DN: baseDn,
          LDAP_ORGANISATION: settings.organisation ?? domain,
          LDAP_TLS_SELF_SIGNED: String(settings.tls === "self-signed"),
          LDAP_LOG_LEVEL: settings.logLevel,
          // The one TLS policy (platform/tls-policy.ts), applied to cn=config at every start when it changed.
          LDAP_TLS_PROTOCOL_MIN: tlsPolicy.protocolMin,
          LDAP_TLS_CIPHER_SUITE: tlsPolicy.cipherSuite,
          ...(settings.tls === "acme" ? certificateWatchEnv(context, "LDAP_CERT_WATCH_SECONDS") : {}),
        },
        // As files, read by the entrypoint at the first start (platform/container.ts).
        secretEnv: {
          LDAP_ADMIN_PASSWORD: adminPassword,
          ...Object.fromEntries(SERVICE_ACCOUNTS.map((service) => [servicePasswordEnv(service), accounts[service].password])),
        },
        secretsOwner: `${LDAP_USER.uid}:${LDAP_USER.gid}`,
        volumes: [
          { source: volumes.data, target: "/var/lib/ldap" },
          { source: volumes.config, target: "/etc/ldap/slapd.d" },
          { source: volumes.tls, target: "/etc/ldap/tls" },
          { source: volumes.certificate, target: "/etc/ldap/certificate" },
          { source: volumes.socket, target: "/run/slapd" },
        ],
        readOnlyRootfs: true,
        tmpfs: tmp,
        healthcheck: { test: DIRECTORY_HEALTHCHECK, intervalSeconds: 10 },
        ports: settings.publishLdaps ? [{ container: LDAPS_PORT, host: settings.ldapsPort, ip: settings.ldapsAddress }] : [],
        exceptions: settings.publishLdaps
          ? { publishPorts: "LDAPS for the sssd of the association's other hosts, or the members CLI on local (publishLdaps)" }
          : undefined,
      },
      { parent: this },
    );

    serviceContainer(
      context,
      "ldap-daily",
      {
        service: "ldap",
        // Long-running (it sleeps until the next run), so an app for the restart policy; role job means one-shot.
        role: "app",
        image,
        user: LDAP_USER.name,
        entrypoint: ["/usr/local/bin/ldap-daily"],
        networks: [{ network }],
        memoryMb: settings.jobMemoryMb,
        env: { LDAP_BASE_DN: baseDn, LDAP_DAILY_AT: settings.dailyAt, LDAP_JOB_METRICS_DIR: JOB_METRICS_DIR },
        volumes: [
          // slapcat reads the database beside slapd (LMDB allows concurrent readers; it needs the lock file).
          { source: volumes.data, target: "/var/lib/ldap" },
          { source: volumes.config, target: "/etc/ldap/slapd.d", readOnly: true },
          { source: volumes.tls, target: "/etc/ldap/tls", readOnly: true },
          { source: volumes.socket, target: "/run/slapd" },
          { source: volumes.backup, target: "/var/backups/ldap" },
          // expiry.prom, how the last expiry run went, for monitoring (platform/job-metrics.ts).
          { source: context.jobMetricsVolume("expiry"), target: JOB_METRICS_DIR },
        ],
        readOnlyRootfs: true,
        tmpfs: tmp,
        healthcheck: { test: DIRECTORY_HEALTHCHECK, intervalSeconds: 15 },
      },
      { parent: this },
    );

    if (settings.tls === "acme") {
      new AcmeCertificate(
        "ldap-acme",
        { context, service: "ldap", domains: [directoryHostname(domain)], target: volumes.tls, owner: LDAP_USER },
        { parent: this },
      );
    }

    const url = directoryUrl(domain);
    this.provides = {
      directory: { url, baseDn, network, certificates: volumes.certificate, serviceAccounts: accounts },
    };
    this.dnsRecords =
      settings.publishLdaps && context.config.publicIpv4
        ? [{ name: directoryHostname(domain), type: "A", value: context.config.publicIpv4 }]
        : [];
    this.registerOutputs({ url, baseDn, dnsRecords: this.dnsRecords });
  }
}
