import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { AcmeCertificate, certificateWatchEnv } from "../platform/acme-certificate";
import { serviceContainer, type PublishedPort } from "../platform/container";
import { SENDING_ACCOUNTS } from "../platform/directory";
import type { DnsRecord } from "../platform/dns";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import type { MailEndpoint } from "../platform/smtp-client";
import { opensslPolicy } from "../platform/tls-policy";
import { mailDnsRecords, mtaStsPolicy, zoneFile } from "./dns";
import type { MailService } from "./settings";

/** Names of the containers: also their host names (rspamd's is used in postfix/main.cf). */
export const MAIL_CONTAINERS = {
  postfix: "mail-postfix",
  dovecot: "mail-dovecot",
  rspamd: "mail-rspamd",
  mtaSts: "mail-mta-sts",
} as const;

/**
 * Dovecot's alias on the mail network only: LMTP and the SASL service listen on that address alone, so
 * the web apps sharing the directory network cannot deliver or guess passwords there (postfix/main.cf).
 */
export const DOVECOT_INTERNAL_HOSTNAME = "mail-dovecot-internal";

/**
 * Postfix's alias on the mail network only: the listener Dovecot sends Sieve redirects and vacation replies
 * through (port 10025, postfix/entrypoint.sh) binds that address alone, which only Dovecot reaches.
 */
export const POSTFIX_INTERNAL_HOSTNAME = "mail-postfix-internal";

/**
 * vmail (uid and gid 5000, made in mail/dovecot/Dockerfile): Dovecot reads the TLS key as this user; the
 * Postfix master reads it as root (DAC_OVERRIDE).
 */
export const VMAIL_USER = { name: "vmail", uid: 5000, gid: 5000 } as const;

/** The postdrop group of the Postfix image (made by Debian's package on the base; the monitoring scenarios read the queue with it). */
export const POSTDROP_GID = 103;
/**
 * rspamd's user, with the ids Debian's package gives it on our base (they own the DKIM key file). The mail
 * scenarios start the image, so a package that moved them would fail there, not on a host.
 */
export const RSPAMD_USER = { name: "_rspamd", uid: 100, gid: 101 } as const;

/**
 * The association's mail server: Postfix (MX, submission), Dovecot (IMAPS, LMTP delivery, SASL,
 * Sieve, quotas) and rspamd (spam filtering, DKIM signing), all backed by the directory on the same
 * host. Networks: `mail` (the three daemons), `mail-submission` (Postfix and the web apps that send
 * notifications: the `mail` endpoint it provides), `mail-public` (the published ports and outgoing SMTP).
 */
export class MailServer extends pulumi.ComponentResource implements ServiceOutputs {
  readonly hostname: string;
  readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  /** The same records as zone-file lines. */
  readonly zone: pulumi.Output<string>;
  /** Text to serve at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
  readonly mtaStsPolicy: string;
  readonly provides: { mail: MailEndpoint };

  constructor(name: string, args: ServiceArgs<typeof MailService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Mail", name, {}, opts);
    const { context, settings, endpoints } = args;
    const { directory } = endpoints;
    const domain = context.config.domain;
    this.hostname = settings.hostname ?? context.subdomain("mail");
    const reportAddress = settings.reportAddress ?? `postmaster@${domain}`;

    const networks = {
      mail: context.network("mail", { internal: true }, this),
      // rspamd parses untrusted mail: it shares a network with Postfix only (its milter), never with
      // Dovecot's LMTP and SASL listeners on `mail`.
      filter: context.network("mail-filter", { internal: true }, this),
      submission: context.network("mail-submission", { internal: true }, this),
      // Published ports need a network with a route out; Postfix also sends to other MX through it.
      public: context.network("mail-public", { internal: false }, this),
    };
    const volumes = {
      queue: context.volume("mail-queue", this, {
        keep: "nothing",
        because:
          "Postfix's queue files are not consistent copied live; a queued message is delivered within seconds, or retried by the sending server while this one is down",
      }),
      // Maildir (one file per message, renamed into place) and the Sieve scripts in each home.
      mailboxes: context.volume("mail-mailboxes", this, { keep: "files" }),
      dovecotState: context.volume("mail-dovecot-state", this, { keep: "nothing", because: "Dovecot's runtime state, rebuilt at start" }),
      rspamd: context.volume("mail-rspamd", this, { keep: "nothing", because: "rspamd's caches and statistics, learned again" }),
      // The DKIM key is not in a volume: it is kept in the Pulumi state (tls.PrivateKey below), off the host.
      tls:
        settings.tls.source === "directory"
          ? settings.tls.path
          : context.volume("mail-tls", this, {
              keep: "nothing",
              because: "the certificate is issued again at the first start (ACME, or self-signed on local)",
            }),
    };
    // Only Dovecot's self-signed certificate is written by a daemon; otherwise they only read it.
    const tlsMount = { source: volumes.tls, target: "/tls", readOnly: settings.tls.source !== "self-signed" };
    const directoryCertificate = { source: directory.certificates, target: "/etc/ldap-certs", readOnly: true };
    const mailAccount = directory.serviceAccounts.mail;
    const ldapEnv = {
      LDAP_URL: directory.url,
      LDAP_BASE_DN: directory.baseDn,
      LDAP_BIND_DN: mailAccount.dn,
    };
    // The one TLS policy (platform/tls-policy.ts), applied by both entrypoints: no cipher list in the images.
    const { minProtocol, cipherList } = opensslPolicy();
    const tlsPolicyEnv = { TLS_MIN_PROTOCOL: minProtocol, TLS_CIPHER_LIST: cipherList };
    // Postfix and Dovecot reload a renewed certificate on their own (cert-watch.sh).
    const certificateWatch = settings.tls.source === "acme" ? certificateWatchEnv(context, "CERT_WATCH_SECONDS") : {};
    // As a file (platform/container.ts), read by the entrypoints that render the LDAP maps.
    const ldapSecret = { LDAP_BIND_PASSWORD: mailAccount.password };
    // Service accounts that send notifications through submission, each as its own address.
    const serviceSenders = SENDING_ACCOUNTS.map((service) => directory.serviceAccounts[service].mail)
      .filter((address): address is string => address !== undefined)
      .join(" ");
    const publish = (container: number, hostPort: number): PublishedPort => ({ container, host: hostPort, ip: settings.ports.address });
    const publishWhy = "the mail server receives (25) and serves its users (465, 587, 993, 4190) from outside";

    // Kept in the state: the same key across deploys, so the published DKIM record stays valid.
    const dkimKey = new tls.PrivateKey(`${name}-dkim`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });

    serviceContainer(
      context,
      MAIL_CONTAINERS.rspamd,
      {
        service: "mail",
        role: "app",
        image: context.ownImage("mail-rspamd", "mail/rspamd", this),
        user: RSPAMD_USER.name,
        networks: [{ network: networks.filter }, { network: networks.public }],
        memoryMb: settings.memoryMb.rspamd,
        env: {
          DKIM_DOMAIN: domain,
          // rspamd.local.lua: our domains (forged header From from outside) and what our DMARC record asks for them.
          MAIL_DOMAINS: domain,
          MAIL_DMARC_POLICY: settings.dmarcPolicy,
          DKIM_SELECTOR: settings.dkimSelector,
          // Read by the local.d templates (rspamd passes RSPAMD_* variables to them as env.*).
          RSPAMD_NETWORK_CHECKS: String(settings.spamNetworkChecks),
        },
        secretEnv: { DKIM_PRIVATE_KEY: dkimKey.privateKeyPem },
        secretsOwner: `${RSPAMD_USER.uid}:${RSPAMD_USER.gid}`,
        volumes: [{ source: volumes.rspamd, target: "/var/lib/rspamd" }],
        healthcheck: { test: ["CMD", "/usr/local/bin/healthcheck.sh"], intervalSeconds: 30, startPeriodSeconds: 60 },
      },
      { parent: this },
    );

    serviceContainer(
      context,
      MAIL_CONTAINERS.dovecot,
      {
        service: "mail",
        role: "app",
        image: context.ownImage("mail-dovecot", "mail/dovecot", this),
        // Rootless Dovecot: all its processes run as vmail, the owner of the mailboxes.
        user: VMAIL_USER.name,
        networks: [
          { network: networks.mail, aliases: [DOVECOT_INTERNAL_HOSTNAME] },
          { network: directory.network },
          { network: networks.public },
        ],
        memoryMb: settings.memoryMb.dovecot,
        env: {
          MAIL_HOSTNAME: this.hostname,
          MAIL_QUOTA: settings.quota,
          INTERNAL_HOSTNAME: DOVECOT_INTERNAL_HOSTNAME,
          TLS_MODE: settings.tls.source,
          MAIL_SERVICE_SENDERS: serviceSenders,
          ...tlsPolicyEnv,
          ...certificateWatch,
          ...ldapEnv,
        },
        secretEnv: ldapSecret,
        secretsOwner: `${VMAIL_USER.uid}:${VMAIL_USER.gid}`,
        volumes: [
          { source: volumes.mailboxes, target: "/var/mail" },
          { source: volumes.dovecotState, target: "/var/lib/dovecot" },
          tlsMount,
          directoryCertificate,
        ],
        ports: [publish(993, settings.ports.imaps), publish(4190, settings.ports.managesieve)],
        exceptions: { publishPorts: publishWhy },
        healthcheck: { test: ["CMD", "/usr/local/bin/healthcheck.sh"], intervalSeconds: 30 },
      },
      { parent: this },
    );

    serviceContainer(
      context,
      MAIL_CONTAINERS.postfix,
      {
        service: "mail",
        role: "app",
        image: context.ownImage("mail-postfix", "mail/postfix", this),
        networks: [
          { network: networks.mail, aliases: [POSTFIX_INTERNAL_HOSTNAME] },
          { network: networks.filter },
          { network: directory.network },
          { network: networks.public },
          // The web apps reach submission by the mail host's name, which on local resolves to 127.0.0.1.
          { network: networks.submission, aliases: [this.hostname] },
        ],
        memoryMb: settings.memoryMb.postfix,
        env: {
          MAIL_HOSTNAME: this.hostname,
          MAIL_DOMAINS: domain,
          MAIL_MESSAGE_SIZE_LIMIT: String(settings.messageSizeMb * 1024 * 1024),
          MAIL_LIMIT_MESSAGES_PER_HOUR: String(settings.sendingLimits.messagesPerHour),
          MAIL_LIMIT_RECIPIENTS_PER_HOUR: String(settings.sendingLimits.recipientsPerHour),
          MAIL_SERVICE_SENDERS: serviceSenders,
          INTERNAL_HOSTNAME: POSTFIX_INTERNAL_HOSTNAME,
          ...tlsPolicyEnv,
          ...certificateWatch,
          ...ldapEnv,
        },
        // Read by the entrypoint as root, which writes the maps for Postfix's children.
        secretEnv: ldapSecret,
        volumes: [{ source: volumes.queue, target: "/var/spool/postfix" }, tlsMount, directoryCertificate],
        ports: [publish(25, settings.ports.smtp), publish(465, settings.ports.submissions), publish(587, settings.ports.submission)],
        exceptions: { publishPorts: publishWhy },
        // The Postfix master must run as root (it refuses otherwise) and hands work to unprivileged children.
        // Not KILL: children notice a stopping or reloading master through their status pipe.
        capAdd: {
          SETUID: "the Postfix master starts its daemons as the postfix user",
          SETGID: "the Postfix master starts its daemons with the postfix group",
          DAC_OVERRIDE: "the master (root) opens the postfix-owned queue sockets and reads the TLS key owned by vmail",
        },
        healthcheck: {
          test: ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/25 && read -r -t 5 banner <&3 && [[ $banner == 220* ]]"],
          intervalSeconds: 30,
        },
      },
      { parent: this },
    );

    if (settings.tls.source === "acme" && typeof volumes.tls !== "string") {
      new AcmeCertificate(
        "mail-acme",
        { context, service: "mail", domains: [this.hostname], target: volumes.tls, owner: VMAIL_USER },
        { parent: this },
      );
    }

    this.provides = {
      mail: {
        submissionHost: this.hostname,
        submissionPort: 587,
        network: networks.submission,
        selfSignedCertificate: settings.tls.source === "self-signed",
        queue: { volume: volumes.queue, gid: POSTDROP_GID },
      },
    };

    this.mtaStsPolicy = mtaStsPolicy(this.hostname, settings.mtaStsMode);
    serviceContainer(
      context,
      MAIL_CONTAINERS.mtaSts,
      {
        service: "mail",
        role: "app",
        image: context.ownImage(MAIL_CONTAINERS.mtaSts, "mail/mta-sts", this),
        networks: [{ network: context.edge }],
        memoryMb: 16,
        env: { MTA_STS_POLICY: this.mtaStsPolicy },
        readOnlyRootfs: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=1m" },
        routes: [{ host: `mta-sts.${domain}`, port: 8080 }],
        healthcheck: { test: ["CMD", "busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/.well-known/mta-sts.txt"] },
      },
      { parent: this },
    );
    this.dnsRecords = dkimKey.publicKeyPem.apply((dkimPublicKeyPem) =>
      mailDnsRecords({
        domain,
        hostname: this.hostname,
        publicIpv4: context.config.publicIpv4,
        dkimSelector: settings.dkimSelector,
        dkimPublicKeyPem,
        dmarcPolicy: settings.dmarcPolicy,
        reportAddress,
        mtaStsMode: settings.mtaStsMode,
      }),
    );
    this.zone = this.dnsRecords.apply((records) => zoneFile(records));
    this.registerOutputs({ hostname: this.hostname, dnsRecords: this.dnsRecords, mtaStsPolicy: this.mtaStsPolicy });
  }
}
