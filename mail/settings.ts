import { z } from "zod";
import { declareService } from "../platform/service";
import { email, hostname, memoryMb } from "../platform/settings";

const port = (standard: number) => z.int({ error: "expected a port number" }).min(1).max(65535).default(standard);

export const MailSettings = z.strictObject({
  /** Name of the MX, submission and IMAP host (certificate name). Default `mail.<domain>`. */
  hostname: hostname().optional(),
  /** Largest message accepted, in MiB (Postfix message_size_limit). Default 25. */
  messageSizeMb: z.int({ error: "expected a whole number of MiB" }).min(1).max(200).default(25),
  /** Mailbox quota of each user (Dovecot quota_rule), e.g. 500M or 2G. Default 2G. */
  quota: z
    .string()
    .regex(/^[1-9]\d*[MG]$/, { error: "expected a size such as 500M or 2G" })
    .default("2G"),
  /** DKIM selector: the key is published at `<selector>._domainkey.<domain>`. Default `mail`. */
  dkimSelector: z
    .string()
    .regex(/^[a-z0-9-]{1,63}$/, { error: "expected a DNS label such as mail" })
    .default("mail"),
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
  /**
   * Per authenticated login on submission (587, 465), over the last hour: more messages or recipients
   * are deferred (451 4.7.1 "sending limit", logged by Postfix as `reject: END-OF-MESSAGE`), so that one
   * stolen password does not make a spam relay. Defaults 100 messages and 300 recipients an hour
   * (service accounts included: Mattermost and Nextcloud notifications count too).
   */
  sendingLimits: z
    .strictObject({
      messagesPerHour: z.int({ error: "expected a whole number of messages" }).min(1).max(100_000).default(100),
      recipientsPerHour: z.int({ error: "expected a whole number of recipients" }).min(1).max(1_000_000).default(300),
    })
    .prefault({}),
  /** Where DMARC and TLS reports go. Default `postmaster@<domain>`. */
  reportAddress: email().optional(),
  /**
   * TLS certificate of the mail host (its `hostname`). `acme` (production): obtained and renewed by the
   * `mail-acme` container with the host's `infra:acme` settings (DNS-01 at the registrar) into the
   * `mail-tls` volume. `self-signed` (local): made by the dovecot container at its first start into
   * that volume. `directory`: a host directory holding tls.crt and tls.key, written by something else.
   * Postfix and Dovecot wait for the first certificate, and reload within a minute when tls.crt changes.
   */
  tls: z
    .union([
      z.strictObject({ source: z.literal("acme") }),
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
  memoryMb: z.strictObject({ postfix: memoryMb(128), dovecot: memoryMb(128), rspamd: memoryMb(384) }).prefault({}),
});

export type MailConfig = z.output<typeof MailSettings>;

/** `infra:services.mail`: the association's mail server, on the directory of the same host. */
export const MailService = declareService({
  name: "mail",
  summary: "Postfix, Dovecot and rspamd: the association's mail, accounts from the directory",
  settings: MailSettings,
  /** `acme`: the mail-acme container's (platform/acme/image). */
  ownImages: ["mail-postfix", "mail-dovecot", "mail-rspamd", "mail-mta-sts", "acme"],
  needs: { directory: "required" },
  provides: ["mail"],
});
