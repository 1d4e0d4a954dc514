import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainer, type VolumeMount } from "../../platform/container";
import { baseDnOf, directoryUrl, ldapsHostAndPort, serviceAccountDn } from "../../platform/directory";
import type { HostContext } from "../../platform/host-context";
import type { PinnedImage } from "../../platform/images";
import type { OfficeEndpoint } from "../../platform/office";
import { Postgres } from "../../platform/postgres";
import { Redis } from "../../platform/redis";
import type { EndpointsFor, ServiceArgs, ServiceOutputs } from "../../platform/service";
import { smtpClient, type SmtpClient } from "../../platform/smtp-client";
import { ASSO_TENANT_ID, nextcloudContainerName } from "../../platform/tenants";
import { occJob, OCC_SCRIPT, type LdapLoginSettings, type OfficeSettings } from "./occ";
import type { NextcloudConfig, NextcloudService } from "./settings";

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
const REDIS_PORT = 6379;
const HTML_DIR = "/var/www/html";
/** Outside the web root; the image creates it owned by www-data, so a new volume there is writable by it. */
const DATA_DIR = "/var/www/data";
const DIRECTORY_CA_DIR = "/etc/ldap/directory-certs";
/** The image's web server user; apache binds port 80 without privilege (unprivileged ports start at 0 in containers). */
const WWW_DATA = "www-data";
/** www-data's ids in the image (Debian's fixed 33), owner of the secret files. */
const WWW_DATA_IDS = "33:33";

/**
 * Nextcloud for the association (`cloud.<domain>`) and for each partner association of the host
 * (`infra:partners`): one instance per tenant, each with its own database, Redis, volumes, cron and
 * internal network, so that adding or removing a tenant never touches the others.
 */
export class Nextcloud extends pulumi.ComponentResource implements ServiceOutputs {
  readonly urls: string[];

  constructor(name: string, args: ServiceArgs<typeof NextcloudService>, opts?: pulumi.ComponentResourceOptions) {
    const { context, settings, endpoints } = args;
    // Settings the schema cannot check alone (they depend on what else runs here): before any resource.
    const smtp = smtpClient("nextcloud", context.config.domain, settings.smtp, endpoints);
    const tenants = nextcloudTenants(context, settings, endpoints);
    super("infra:service:Nextcloud", name, {}, opts);
    const image = context.upstreamImage("nextcloud", settings.image, this);
    for (const tenant of tenants) {
      new NextcloudTenant(
        nextcloudContainerName(tenant.id),
        { context, settings, tenant, image, smtp, office: endpoints.office },
        { parent: this },
      );
    }
    this.urls = tenants.map((tenant) => `https://${tenant.domain}`);
    this.registerOutputs({ urls: this.urls });
  }
}

/** The association's tenant first, then the partners in stack-file order. */
export function nextcloudTenants(
  context: HostContext,
  settings: NextcloudConfig,
  endpoints: EndpointsFor<typeof NextcloudService>,
): Tenant[] {
  const config = context.config;
  return [
    {
      id: ASSO_TENANT_ID,
      domain: context.subdomain("cloud"),
      adminEmail: settings.adminEmail ?? `tech@${config.domain}`,
      defaultQuota: settings.defaultQuota,
      ldap: settings.ldap ? ldapLogin(config.domain, settings, endpoints) : undefined,
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
function ldapLogin(
  domain: string,
  settings: NextcloudConfig,
  endpoints: EndpointsFor<typeof NextcloudService>,
): NonNullable<Tenant["ldap"]> {
  const directory = endpoints.directory;
  if (directory) {
    const account = directory.serviceAccounts.nextcloud;
    return {
      ...ldapsHostAndPort(directory.url),
      baseDn: directory.baseDn,
      bindDn: account.dn,
      bindPassword: account.password,
      network: directory.network,
      certificates: directory.certificates,
    };
  }
  const password = settings.ldap?.password ?? settings.smtp.password;
  if (password === undefined) {
    // Unreachable from a valid stack: smtp.password is required on such a host (stacks/rules.ts).
    throw new Error("services.nextcloud.ldap.password: required when the directory does not run on this host");
  }
  const baseDn = baseDnOf(domain);
  return {
    ...ldapsHostAndPort(settings.ldap?.url ?? directoryUrl(domain)),
    baseDn,
    bindDn: serviceAccountDn("nextcloud", baseDn),
    bindPassword: password,
  };
}

interface TenantArgs {
  context: HostContext;
  settings: NextcloudConfig;
  tenant: Tenant;
  image: PinnedImage;
  smtp: SmtpClient;
  /** Collabora, when it runs on this host. */
  office?: OfficeEndpoint;
}

/** One tenant's Nextcloud: app, database, Redis, cron and the `occ` settings job. */
class NextcloudTenant extends pulumi.ComponentResource {
  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:NextcloudTenant", name, {}, opts);
    const { context, settings, tenant, image, smtp } = args;
    const service = "nextcloud";

    const network = context.network(name, { internal: true }, this);
    const db = new Postgres(
      `${name}-db`,
      {
        context,
        service,
        network,
        database: "nextcloud",
        user: "nextcloud",
        memoryMb: settings.database.memoryMb,
      },
      { parent: this },
    );
    const redis = new Redis(`${name}-redis`, { context, service, network, memoryMb: settings.redis.memoryMb }, { parent: this });
    const adminPassword = context.password(`${name}-admin`, this);

    const office = args.office && officeSettings(args.office, tenant, settings.edgeSubnets.join(","));
    // The edge-network name stays a trusted host (and an alias in Collabora's group) for documents that were
    // opened while it was the callback URL; Collabora now calls the public URL (see officeSettings).
    const trustedDomains = office ? [tenant.domain, nextcloudContainerName(tenant.id)] : [tenant.domain];
    const [mailLocal, mailDomain] = smtp.username.split("@");
    const edgeSubnets = settings.edgeSubnets.join(" ");
    // What every container of the tenant needs at run time: the image's config/*.config.php read these.
    // Not REDIS_HOST: the image's entrypoint writes a root-owned file for it (platform/upstream-images.ts);
    // the occ job puts Redis in config.php, which the app, cron and the job all read.
    const runtimeEnv: Record<string, pulumi.Input<string>> = {
      // Behind the proxy: links and redirects use the public https URL (no login loop). The client address:
      // the image's mod_remoteip takes it from X-Real-IP, which the proxy sets to the address it was
      // connected from; TRUSTED_PROXIES lets Nextcloud read X-Forwarded-For from the edge network too.
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
      // The sender is the service account's own address: submission only accepts senders the login owns.
      MAIL_FROM_ADDRESS: mailLocal,
      MAIL_DOMAIN: mailDomain,
      ...(tenant.ldap?.certificates ? { LDAPTLS_CACERT: `${DIRECTORY_CA_DIR}/tls.crt` } : {}),
    };
    // As files (SMTP_PASSWORD_FILE, read by the image's config/smtp.config.php), readable by www-data only,
    // which also runs cron.php under the cron container's root crond (platform/container.ts).
    const runtimeSecrets = { SMTP_PASSWORD: smtp.password };
    const secretsOwner = WWW_DATA_IDS;
    const volumes: VolumeMount[] = [
      // config/config.php (instance id, secrets) and the apps live in html; the members' files in data. Both are
      // copied after the database's dump: a file uploaded in between is found again by occ files:scan.
      { source: context.volume(`${name}-html`, this, { keep: "files" }), target: HTML_DIR },
      { source: context.volume(`${name}-data`, this, { keep: "files" }), target: DATA_DIR },
      ...(tenant.ldap?.certificates ? [{ source: tenant.ldap.certificates, target: DIRECTORY_CA_DIR, readOnly: true }] : []),
    ];
    const sideNetworks = [
      ...(smtp.network ? [{ network: smtp.network }] : []),
      ...(tenant.ldap?.network ? [{ network: tenant.ldap.network }] : []),
    ];
    // Edge first: it is the network the proxy reaches the app on; the others are internal.
    const networks = [{ network: context.edge }, { network }, ...sideNetworks];
    const dependsOn = [db, redis];

    const app = serviceContainer(
      context,
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
          NEXTCLOUD_ADMIN_USER: ADMIN_USER,
          NEXTCLOUD_DATA_DIR: DATA_DIR,
          NEXTCLOUD_TRUSTED_DOMAINS: trustedDomains.join(" "),
          // No APACHE_DISABLE_REWRITE_IP: as www-data the entrypoint cannot `a2disconf remoteip` (root-owned
          // /etc/apache2) and exits; mod_remoteip stays on and takes the client address from the proxy.
        },
        // The entrypoint's file_env reads POSTGRES_PASSWORD_FILE and NEXTCLOUD_ADMIN_PASSWORD_FILE at installation.
        secretEnv: { ...runtimeSecrets, POSTGRES_PASSWORD: db.password, NEXTCLOUD_ADMIN_PASSWORD: adminPassword },
        secretsOwner,
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
      context,
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
        secretEnv: runtimeSecrets,
        secretsOwner,
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
      redis: { host: redis.hostname, port: REDIS_PORT, password: redis.password },
      office,
      ldap: tenant.ldap,
      smtpVerifyCertificate: smtp.verifyCertificate,
    });
    serviceContainer(
      context,
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
        env: { ...runtimeEnv, ...job.env },
        secretEnv: { ...runtimeSecrets, ...job.secretEnv },
        secretsOwner,
        volumes,
        healthcheck: { test: ["CMD-SHELL", `test -f ${HTML_DIR}/config/config.php`] },
      },
      { parent: this, dependsOn: [app] },
    );
    this.registerOutputs({});
  }
}

/**
 * richdocuments settings of a tenant, from the office endpoint Collabora provides. The callback URL is the
 * tenant's public URL: richdocuments makes it the WOPISrc, and Collabora allows as frame ancestors only
 * its own host and the WOPISrc's host, so with any other host the browser on the tenant's page refuses
 * the editor's frame (platform/upstream-images.ts, collaboraFrameAncestors). Collabora reaches that URL
 * like a browser does, through the public DNS record and the proxy.
 */
function officeSettings(office: OfficeEndpoint, tenant: Pick<Tenant, "domain">, allowlist: string): OfficeSettings {
  return {
    wopiUrl: office.internalUrl,
    publicWopiUrl: office.publicUrl,
    callbackUrl: `https://${tenant.domain}`,
    allowlist,
  };
}
