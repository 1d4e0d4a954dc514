import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { z } from "zod";
import { serviceContainer, type PublishedPort } from "../services/container";
import type { DirectoryEndpoint } from "../services/endpoints";
import type { DnsRecord, Host } from "../services/host";
import { email, hostname, memoryMb } from "../services/settings";
import { mailDnsRecords, mtaStsPolicy, zoneFile } from "./dns";

const port = (standard: number) => z.int({ error: "expected a port number" }).min(1).max(65535).default(standard);

export const MailSettings = z
  .strictObject({
    /** Name of the MX, submission and IMAP host (certificate name). Default `mail.<domain>`. */
    hostname: hostname().optional(),
    /** Largest message accepted, in MiB (Postfix message_size_limit). Default 25. */
    messageSizeMb: z.int({ error: "expected a whole number of MiB" }).min(1).max(200).default(25),
    /** Mailbox quota of each user (Dovecot quota_rule), e.g. 500M or 2G. Default 2G. */
    quota: z.string().regex(/^[1-9]\d*[MG]$/, { error: "expected a size such as 500M or 2G" }).default("2G"),
    /** DKIM selector: the key is published at `<selector>._domainkey.<domain>`. Default `mail`. */
    dkimSelector: z.string().regex(/^[a-z0-9-]{1,63}$/, { error: "expected a DNS label such as mail" }).default("mail"),
    /** DMARC policy for mail that fails alignment. Default quarantine. */
    dmarcPolicy: z.enum(["none", "quarantine", "reject"]).default("quarantine"),
    /** MTA-STS mode announced to senders. Default testing (switch to enforce once TLS reports are clean). */
    mtaStsMode: z.enum(["testing", "enforce"]).default("testing"),
    /**
     * rspamd checks that ask public DNS (RBLs, SPF, DMARC, HELO/sender host names). Default true. Turn
     * off only where DNS gets no answers from the Internet (CI, offline laptops): every message would
     * wait for DNS timeouts.
     */
    spamNetworkChecks: z.boolean().default(true),
    /** Where DMARC and TLS reports go. Default `postmaster@<domain>`. */
    reportAddress: email().optional(),
    /**
     * TLS certificate of the mail host. `self-signed` (local): made by the dovecot container at its
     * first start into the `mail-tls` volume. `directory`: a host directory holding tls.crt and tls.key
     * (e.g. written by certbot, or exported from the proxy's ACME store by traefik-certs-dumper);
     * Postfix and Dovecot reload within a minute when tls.crt changes.
     */
    tls: z
      .union([
        z.strictObject({ source: z.literal("self-signed") }),
        z.strictObject({ source: z.literal("directory"), path: z.string().regex(/^\/\S+$/, { error: "expected an absolute path" }) }),
      ])
      .default({ source: "self-signed" }),
    /**
     * Host ports (standard ones by default). Publishing them is the mail server's reason to exist; on
     * local, high ports bound to 127.0.0.1 avoid needing root ports on a developer machine.
     */
    ports: z
      .strictObject({
        smtp: port(25),
        submissions: port(465),
        submission: port(587),
        imaps: port(993),
        managesieve: port(4190),
        /** Host address to bind; all addresses by default. */
        address: z.ipv4({ error: "expected an IPv4 address such as 127.0.0.1" }).optional(),
      })
      .prefault({}),
    /** Memory limit of each daemon, in MiB (rspamd compiles its rules at start: about 250 MiB at peak). */
    memoryMb: z
      .strictObject({ postfix: memoryMb(128), dovecot: memoryMb(128), rspamd: memoryMb(384) })
      .prefault({}),
  });

export type MailConfig = z.output<typeof MailSettings>;

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
 * The association's mail server: Postfix (MX, submission), Dovecot (IMAPS, LMTP delivery, SASL,
 * Sieve, quotas) and rspamd (spam filtering, DKIM signing), all backed by the directory on the same
 * host. Networks: `mail` (the three daemons), `mail-submission` (Postfix and the web apps that send
 * notifications, set as `host.mail`), `mail-public` (the published ports and outgoing SMTP).
 */
export class MailServer extends pulumi.ComponentResource {
  readonly hostname: string;
  readonly dnsRecords: pulumi.Output<DnsRecord[]>;
  /** The same records as zone-file lines. */
  readonly zone: pulumi.Output<string>;
  /** Text to serve at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
  readonly mtaStsPolicy: string;

  constructor(name: string, args: { host: Host; settings: MailConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Mail", name, {}, opts);
    const { host, settings } = args;
    const directory = requireDirectory(host);
    const domain = host.config.domain;
    this.hostname = settings.hostname ?? host.subdomain("mail");
    const reportAddress = settings.reportAddress ?? `postmaster@${domain}`;

    const networks = {
      mail: host.network("mail", { internal: true }, this),
      submission: host.network("mail-submission", { internal: true }, this),
      // Published ports need a network with a route out; Postfix also sends to other MX through it.
      public: host.network("mail-public", { internal: false }, this),
    };
    const volumes = {
      queue: host.volume("mail-queue", this),
      mailboxes: host.volume("mail-mailboxes", this),
      dovecotState: host.volume("mail-dovecot-state", this),
      rspamd: host.volume("mail-rspamd", this),
      tls: settings.tls.source === "self-signed" ? host.volume("mail-tls", this) : settings.tls.path,
    };
    const tlsMount = { source: volumes.tls, target: "/tls", readOnly: settings.tls.source === "directory" };
    const directoryCertificate = { source: directory.certificates, target: "/etc/ldap-certs", readOnly: true };
    const mailAccount = directory.serviceAccount("mail");
    const ldapEnv = {
      LDAP_URL: directory.url,
      LDAP_BASE_DN: directory.baseDn,
      LDAP_BIND_DN: mailAccount.dn,
      LDAP_BIND_PASSWORD: mailAccount.password,
    };
    // Service accounts that send notifications through submission, each as its own address.
    const serviceSenders = ["mattermost", "nextcloud"]
      .map((service) => directory.serviceAccount(service).mail)
      .filter((address): address is string => address !== undefined)
      .join(" ");
    const publish = (container: number, hostPort: number): PublishedPort => ({ container, host: hostPort, ip: settings.ports.address });
    const publishWhy = "the mail server receives (25) and serves its users (465, 587, 993, 4190) from outside";

    // Kept in the state: the same key across deploys, so the published DKIM record stays valid.
    const dkimKey = new tls.PrivateKey(`${name}-dkim`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });

    serviceContainer(
      host,
      MAIL_CONTAINERS.rspamd,
      {
        service: "mail",
        role: "app",
        image: host.ownImage("mail-rspamd", "mail/rspamd", this),
        user: "_rspamd",
        networks: [{ network: networks.mail }, { network: networks.public }],
        memoryMb: settings.memoryMb.rspamd,
        env: {
          DKIM_DOMAIN: domain,
          DKIM_SELECTOR: settings.dkimSelector,
          DKIM_PRIVATE_KEY: pulumi.secret(dkimKey.privateKeyPem),
          // Read by the local.d templates (rspamd passes RSPAMD_* variables to them as env.*).
          RSPAMD_NETWORK_CHECKS: String(settings.spamNetworkChecks),
        },
        volumes: [{ source: volumes.rspamd, target: "/var/lib/rspamd" }],
        healthcheck: { test: ["CMD", "/usr/local/bin/healthcheck.sh"], intervalSeconds: 30, startPeriodSeconds: 60 },
      },
      { parent: this },
    );

    serviceContainer(
      host,
      MAIL_CONTAINERS.dovecot,
      {
        service: "mail",
        role: "app",
        image: host.ownImage("mail-dovecot", "mail/dovecot", this),
        // Rootless Dovecot: all its processes run as vmail, the owner of the mailboxes.
        user: "vmail",
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
          ...ldapEnv,
        },
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
      host,
      MAIL_CONTAINERS.postfix,
      {
        service: "mail",
        role: "app",
        image: host.ownImage("mail-postfix", "mail/postfix", this),
        networks: [
          { network: networks.mail },
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
          MAIL_SERVICE_SENDERS: serviceSenders,
          ...ldapEnv,
        },
        volumes: [{ source: volumes.queue, target: "/var/spool/postfix" }, tlsMount, directoryCertificate],
        ports: [
          publish(25, settings.ports.smtp),
          publish(465, settings.ports.submissions),
          publish(587, settings.ports.submission),
        ],
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

    host.mail = {
      submissionHost: this.hostname,
      submissionPort: 587,
      network: networks.submission,
      selfSignedCertificate: settings.tls.source === "self-signed",
    };

    this.mtaStsPolicy = mtaStsPolicy(this.hostname, settings.mtaStsMode);
    serviceContainer(
      host,
      MAIL_CONTAINERS.mtaSts,
      {
        service: "mail",
        role: "app",
        image: host.ownImage(MAIL_CONTAINERS.mtaSts, "mail/mta-sts", this),
        networks: [{ network: host.edge }],
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
        publicIpv4: host.config.publicIpv4,
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

function requireDirectory(host: Host): DirectoryEndpoint {
  if (!host.directory) {
    throw new pulumi.RunError("services.mail: needs the directory on the same host; enable services.ldap in this stack");
  }
  return host.directory;
}
