import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { serviceAccountMail, SENDING_ACCOUNTS, type DirectoryEndpoint, type SendingAccountName } from "./directory";
import { hostname, secretSetting } from "./settings";

/**
 * How a web application sends mail: through the association's own mail server, on submission
 * (587, STARTTLS, authenticated), as its read-only service account of the directory
 * (`cn=<service>,ou=services,...`). When the mail service and the directory run on this host their
 * endpoints are used; otherwise the stack names the mail host and gives the account's password.
 */

/** What the mail server provides to the services on the same host. */
export interface MailEndpoint {
  /** Submission host (STARTTLS on 587) and the network to reach it on this host. */
  submissionHost: string;
  submissionPort: number;
  network: docker.Network;
  /** The certificate is self-signed (local): clients on this host cannot verify it against public CAs. */
  selfSignedCertificate: boolean;
  /**
   * Postfix's queue (its spool volume), for monitoring's queue exporter: it asks Postfix's showq service
   * through `public/showq`, which the group `gid` (postdrop) may enter. Mounted read-only.
   */
  queue: { volume: docker.Volume; gid: number };
}

export const SmtpSettings = z
  .strictObject({
    /** Submission server when this host does not run the mail service. Default: `mail.<domain>`. */
    host: hostname().optional(),
    /** Password of the service account when the directory runs on another host (encrypted in the stack file). */
    password: secretSetting().optional(),
  })
  .prefault({});

export type SmtpConfig = z.output<typeof SmtpSettings>;

export const SUBMISSION_PORT = 587;

/**
 * The services that send mail as their own directory account and have `smtp` settings: all but the account
 * page, which needs the directory and the mail server on its own host.
 */
export const MAIL_SENDERS = SENDING_ACCOUNTS.filter((service): service is Exclude<SendingAccountName, "account"> => service !== "account");

export const MISSING_SMTP_PASSWORD = "required when the directory does not run on this host (pulumi config set --secret --path ...)";

export interface SmtpClient {
  host: string;
  port: number;
  /** Login of the service account: its mail address, which is also the sender it owns. */
  username: string;
  password: pulumi.Output<string>;
  /** Network to join to reach the mail server (only when it runs on this host). */
  network?: docker.Network;
  /**
   * Check the server's certificate. Off only for the self-signed certificate of a mail server on the
   * same host (local), reached over the host's internal network; always on towards another host.
   */
  verifyCertificate: boolean;
}

/** Resolve the SMTP client settings of a sending service on a host of `domain`. */
export function smtpClient(
  service: SendingAccountName,
  domain: string,
  settings: SmtpConfig,
  endpoints: { directory?: DirectoryEndpoint; mail?: MailEndpoint },
): SmtpClient {
  const account = endpoints.directory?.serviceAccounts[service];
  const password = account?.password ?? settings.password;
  if (password === undefined) {
    // The stack rules (stacks/rules.ts) report this with its key path before any resource is registered.
    throw new Error(`services.${service}.smtp.password: ${MISSING_SMTP_PASSWORD}`);
  }
  const mail = endpoints.mail;
  return {
    host: mail?.submissionHost ?? settings.host ?? `mail.${domain}`,
    port: mail?.submissionPort ?? SUBMISSION_PORT,
    username: account?.mail ?? serviceAccountMail(service, domain),
    password,
    network: mail?.network,
    verifyCertificate: !(mail?.selfSignedCertificate ?? false),
  };
}
