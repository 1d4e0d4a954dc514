import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { COLLABORA_CONTAINER, COLLABORA_PORT, officeHostname } from "./collabora";
import { serviceContainer, type VolumeMount } from "./container";
import type { Host } from "./host";
import type { PinnedImage } from "./images";
import { occJob, OCC_SCRIPT, type LdapLoginSettings, type OfficeSettings } from "./nextcloud-occ";
import { Postgres } from "./postgres";
import { Redis } from "./redis";
import { email, imageRef, memoryMb, secretSetting } from "./settings";
import { smtpClient, SmtpSettings, type SmtpClient } from "./smtp-client";
import { ASSO_TENANT_ID, nextcloudContainerName, quota } from "./tenants";

export const DEFAULT_IMAGE = "nextcloud:30.0.4-apache";
export const DATABASE_IMAGE = "postgres:16.4-bookworm";

/** Docker's default address pools: the edge network gets its subnet from them unless the daemon says otherwise. */
const DOCKER_DEFAULT_POOLS = ["172.16.0.0/12", "192.168.0.0/16"];
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

export const NextcloudSettings = z.strictObject({
  /** Nextcloud image (apache variant), pinned by tag; every tenant runs the same version. */
  image: imageRef().default(DEFAULT_IMAGE),
  /** Memory of each tenant's Nextcloud (apache + PHP). */
  memoryMb: memoryMb(1024),
  database: z.strictObject({ image: imageRef().default(DATABASE_IMAGE), memoryMb: memoryMb(512) }).prefault({}),
  redis: z.strictObject({ memoryMb: memoryMb(128) }).prefault({}),
  /** The background-jobs container of each tenant (busybox crond running cron.php every 5 minutes). */
  cron: z.strictObject({ memoryMb: memoryMb(256) }).prefault({}),
  /** The one-shot `occ` job that applies quota, admin email, Collabora and LDAP settings. */
  occ: z.strictObject({ memoryMb: memoryMb(256) }).prefault({}),
  /** Administrator email of the association's own Nextcloud. Default: `tech@<domain>`. */
  adminEmail: email().optional(),
  /** Storage quota of each user of the association's own Nextcloud (partners set theirs in `infra:partners`). */
  defaultQuota: quota().default("10 GB"),
  /**
   * Address ranges the proxy and Collabora reach Nextcloud from (the edge network): trusted for
   * X-Forwarded-* headers and allowed to make WOPI requests. Default: Docker's default address pools.
   */
  edgeSubnets: z.array(z.string().regex(CIDR, { error: "expected an IPv4 CIDR such as 172.18.0.0/16" })).min(1).default(DOCKER_DEFAULT_POOLS),
  /** Mail (password reset, notifications) through the association's mail server (see services/smtp-client.ts). */
  smtp: SmtpSettings,
  /**
   * Present: the association's members log in to its Nextcloud with their directory account
   * (user_ldap, read-only `nextcloud` service account). Partners' instances never use the directory.
   */
  ldap: z
    .strictObject({
      /** ldaps:// URL of the directory when it runs on another host. Default: `ldaps://ldap.<domain>:636`. */
      url: z.string().regex(/^ldaps:\/\/[a-z0-9.-]+(:\d{1,5})?$/, { error: "expected ldaps://host[:port]" }).optional(),
      /** Password of the `nextcloud` service account when the directory runs on another host. Default: smtp.password. */
      password: secretSetting().optional(),
    })
    .optional(),
});

export type NextcloudConfig = z.output<typeof NextcloudSettings>;

/** One Nextcloud instance: the association's or a partner's. */
export interface Tenant {
  id: string;
  domain: string;
  adminEmail: string;
  defaultQuota: string;
  /** LDAP login of the association's members (association's tenant only). */
  ldap?: LdapLoginSettings & { network?: docker.Network; certificates?: docker.Volume };
}

const ADMIN_USER = "admin";
const HTML_DIR = "/var/www/html";
/** Outside the web root; the image creates it owned by www-data, so a new volume there is writable by it. */
const DATA_DIR = "/var/www/data";
const DIRECTORY_CA_DIR = "/etc/ldap/directory-certs";
/** The image's web server user; apache binds port 80 without privilege (unprivileged ports start at 0 in containers). */
const WWW_DATA = "www-data";

/**
 * Nextcloud for the association (`cloud.<domain>`) and for each partner association of the host
 * (`infra:partners`): one instance per tenant, each with its own database, Redis, volumes, cron and
 * internal network, so that adding or removing a tenant never touches the others.
 */
export class Nextcloud extends pulumi.ComponentResource {
  readonly urls: string[];

  constructor(name: string, args: { host: Host; settings: NextcloudConfig }, opts?: pulumi.ComponentResourceOptions) {
    const { host, settings } = args;
    // Settings the schema cannot check alone (they depend on what else runs here): before any resource.
    const smtp = smtpClient(host, "nextcloud", settings.smtp);
    const tenants = nextcloudTenants(host, settings);
    super("infra:service:Nextcloud", name, {}, opts);
    const image = host.upstreamImage("nextcloud", settings.image, this);
    for (const tenant of tenants) {
      new NextcloudTenant(nextcloudContainerName(tenant.id), { host, settings, tenant, image, smtp }, { parent: this });
    }
    this.urls = tenants.map((tenant) => `https://${tenant.domain}`);
    this.registerOutputs({ urls: this.urls });
  }
}

/** The association's tenant first, then the partners in stack-file order. */
export function nextcloudTenants(host: Host, settings: NextcloudConfig): Tenant[] {
  const config = host.config;
  return [
    {
      id: ASSO_TENANT_ID,
      domain: host.subdomain("cloud"),
      adminEmail: settings.adminEmail ?? `tech@${config.domain}`,
      defaultQuota: settings.defaultQuota,
      ldap: settings.ldap ? ldapLogin(host, settings) : undefined,
    },
    ...config.partners.map((partner) => ({
      id: partner.id,
      domain: partner.domain,
      adminEmail: partner.adminEmail,
      defaultQuota: partner.defaultQuota,
    })),
  ];
}

/** The directory as the association's Nextcloud sees it: on this host, or named by the settings. */
function ldapLogin(host: Host, settings: NextcloudConfig): NonNullable<Tenant["ldap"]> {
  const directory = host.directory;
  if (directory) {
    const account = directory.serviceAccount("nextcloud");
    const url = new URL(directory.url);
    return {
      url: `ldaps://${url.hostname}`,
      port: Number(url.port || 636),
      baseDn: directory.baseDn,
      bindDn: account.dn,
      bindPassword: account.password,
      network: directory.network,
      certificates: directory.certificates,
    };
  }
  const password = settings.ldap?.password ?? settings.smtp.password;
  if (password === undefined) {
    // Unreachable from a valid stack: smtp.password is required on such a host (smtpProblems).
    throw new Error("services.nextcloud.ldap.password: required when the directory does not run on this host");
  }
  const url = new URL(settings.ldap?.url ?? `ldaps://${host.subdomain("ldap")}`);
  const baseDn = host.config.domain
    .split(".")
    .map((part) => `dc=${part}`)
    .join(",");
  return {
    url: `ldaps://${url.hostname}`,
    port: Number(url.port || 636),
    baseDn,
    bindDn: `cn=nextcloud,ou=services,${baseDn}`,
    bindPassword: password,
  };
}

interface TenantArgs {
  host: Host;
  settings: NextcloudConfig;
  tenant: Tenant;
  image: PinnedImage;
  smtp: SmtpClient;
}

/** One tenant's Nextcloud: app, database, Redis, cron and the `occ` settings job. */
class NextcloudTenant extends pulumi.ComponentResource {
  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:NextcloudTenant", name, {}, opts);
    const { host, settings, tenant, image, smtp } = args;
    const service = "nextcloud";

    const network = host.network(name, { internal: true }, this);
    const db = new Postgres(
      `${name}-db`,
      { host, service, network, database: "nextcloud", user: "nextcloud", memoryMb: settings.database.memoryMb, image: settings.database.image },
      { parent: this },
    );
    const redis = new Redis(`${name}-redis`, { host, service, network, memoryMb: settings.redis.memoryMb }, { parent: this });
    const adminPassword = host.password(`${name}-admin`, this);

    const office = officeSettings(host, tenant, settings.edgeSubnets.join(","));
    // Collabora calls the tenant back by its container name on the edge network (see services/collabora.ts).
    const trustedDomains = office ? [tenant.domain, nextcloudContainerName(tenant.id)] : [tenant.domain];
    const [mailLocal, mailDomain] = smtp.username.split("@");
    const edgeSubnets = settings.edgeSubnets.join(" ");
    // What every container of the tenant needs at run time: the image's config/*.config.php read these.
    const runtimeEnv: Record<string, pulumi.Input<string>> = {
      REDIS_HOST: redis.hostname,
      REDIS_HOST_PASSWORD: redis.password,
      // Behind the proxy: links and redirects use the public https URL (no login loop), and the
      // client address is taken from X-Forwarded-For only when the request comes from the edge network.
      OVERWRITEHOST: tenant.domain,
      OVERWRITEPROTOCOL: "https",
      OVERWRITECLIURL: `https://${tenant.domain}`,
      TRUSTED_PROXIES: edgeSubnets,
      SMTP_HOST: smtp.host,
      SMTP_PORT: String(smtp.port),
      // `tls` is STARTTLS in Nextcloud's terms (`ssl` would be implicit TLS on 465).
      SMTP_SECURE: "tls",
      SMTP_AUTHTYPE: "LOGIN",
      SMTP_NAME: smtp.username,
      SMTP_PASSWORD: smtp.password,
      // The sender is the service account's own address: submission only accepts senders the login owns.
      MAIL_FROM_ADDRESS: mailLocal,
      MAIL_DOMAIN: mailDomain,
      ...(tenant.ldap?.certificates ? { LDAPTLS_CACERT: `${DIRECTORY_CA_DIR}/tls.crt` } : {}),
    };
    const volumes: VolumeMount[] = [
      { source: host.volume(`${name}-html`, this), target: HTML_DIR },
      { source: host.volume(`${name}-data`, this), target: DATA_DIR },
      ...(tenant.ldap?.certificates ? [{ source: tenant.ldap.certificates, target: DIRECTORY_CA_DIR, readOnly: true }] : []),
    ];
    const sideNetworks = [
      ...(smtp.network ? [{ network: smtp.network }] : []),
      ...(tenant.ldap?.network ? [{ network: tenant.ldap.network }] : []),
    ];
    // Edge first: it is the network the proxy reaches the app on; the others are internal.
    const networks = [{ network: host.edge }, { network }, ...sideNetworks];
    const dependsOn = [db, redis];

    const app = serviceContainer(
      host,
      name,
      {
        service,
        role: "app",
        image,
        user: WWW_DATA,
        networks,
        memoryMb: settings.memoryMb,
        env: {
          ...runtimeEnv,
          // First start only: the image installs Nextcloud with these, then config.php holds them.
          POSTGRES_HOST: db.hostname,
          POSTGRES_DB: db.database,
          POSTGRES_USER: db.user,
          POSTGRES_PASSWORD: db.password,
          NEXTCLOUD_ADMIN_USER: ADMIN_USER,
          NEXTCLOUD_ADMIN_PASSWORD: adminPassword,
          NEXTCLOUD_DATA_DIR: DATA_DIR,
          NEXTCLOUD_TRUSTED_DOMAINS: trustedDomains.join(" "),
          // Apache would otherwise replace the client address with X-Real-IP itself; Nextcloud does it
          // from TRUSTED_PROXIES instead.
          APACHE_DISABLE_REWRITE_IP: "1",
        },
        volumes,
        routes: [{ host: tenant.domain, port: 80 }],
        healthcheck: {
          test: ["CMD-SHELL", `curl -fsS -H 'Host: ${tenant.domain}' http://localhost/status.php | grep -q '"installed":true'`],
          startPeriodSeconds: 300,
        },
      },
      { parent: this, dependsOn },
    );

    serviceContainer(
      host,
      `${name}-cron`,
      {
        service,
        role: "app",
        image,
        // The image's /cron.sh runs busybox crond as root, which runs cron.php as www-data every 5 minutes.
        entrypoint: ["/cron.sh"],
        networks,
        memoryMb: settings.cron.memoryMb,
        env: runtimeEnv,
        volumes,
        capAdd: {
          SETUID: "crond switches to www-data to run the Nextcloud crontab",
          SETGID: "crond switches to the www-data group to run the Nextcloud crontab",
        },
        healthcheck: { test: ["CMD-SHELL", "grep -q crond /proc/1/cmdline"] },
      },
      { parent: this, dependsOn: [app] },
    );

    const job = occJob({
      trustedDomains,
      adminUser: ADMIN_USER,
      adminEmail: tenant.adminEmail,
      defaultQuota: tenant.defaultQuota,
      office,
      ldap: tenant.ldap,
      smtpVerifyCertificate: smtp.verifyCertificate,
    });
    serviceContainer(
      host,
      `${name}-occ-${job.hash}`,
      {
        service,
        role: "job",
        restart: "no",
        image,
        user: WWW_DATA,
        entrypoint: ["/bin/sh", "-c", OCC_SCRIPT],
        // Edge too: `occ app:install richdocuments` downloads the app from the app store.
        networks,
        memoryMb: settings.occ.memoryMb,
        env: { ...runtimeEnv, ...job.env, ...job.secretEnv },
        volumes,
        healthcheck: { test: ["CMD-SHELL", `test -f ${HTML_DIR}/config/config.php`] },
      },
      { parent: this, dependsOn: [app] },
    );
    this.registerOutputs({});
  }
}

/** richdocuments settings when Collabora runs on this host; none otherwise. */
function officeSettings(host: Host, tenant: Tenant, allowlist: string): OfficeSettings | undefined {
  if ((host.config.services as Record<string, unknown>).collabora === undefined) return undefined;
  return {
    wopiUrl: `http://${COLLABORA_CONTAINER}:${COLLABORA_PORT}`,
    publicWopiUrl: `https://${officeHostname(host)}`,
    callbackUrl: `http://${nextcloudContainerName(tenant.id)}`,
    allowlist,
  };
}
