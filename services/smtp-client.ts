import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { StackConfig } from "./config";
import type { Host } from "./host";
import { hostname, secretSetting } from "./settings";

/**
 * How a web application sends mail: through the association's own mail server, on submission
 * (587, STARTTLS, authenticated), as its read-only service account of the directory
 * (`cn=<service>,ou=services,...`). When the mail service and the directory run on this host their
 * endpoints are used; otherwise the stack names the mail host and gives the account's password.
 */
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

/** Resolve the SMTP client settings of `service` (e.g. "mattermost") on this host. */
export function smtpClient(host: Host, service: string, settings: SmtpConfig): SmtpClient {
  const account = host.directory?.serviceAccount(service);
  const password = account?.password ?? settings.password;
  if (password === undefined) {
    // Reported with its key path by the config loader (smtpProblems) before any resource is registered.
    throw new Error(`services.${service}.smtp.password: ${MISSING_PASSWORD}`);
  }
  return {
    host: host.mail?.submissionHost ?? settings.host ?? host.subdomain("mail"),
    port: host.mail?.submissionPort ?? SUBMISSION_PORT,
    username: account?.mail ?? `${service}@${host.config.domain}`,
    password,
    network: host.mail?.network,
    verifyCertificate: !(host.mail?.selfSignedCertificate ?? false),
  };
}


const MISSING_PASSWORD = "required when the directory does not run on this host (pulumi config set --secret --path ...)";

/** Services that send mail as their own directory account. */
const MAIL_SENDERS = ["mattermost", "nextcloud"] as const;

/**
 * What the settings schema alone cannot check: a mail sender on a host without the directory needs its
 * account's password in the stack file. Called by the config loader, so the run stops before any resource.
 */
export function smtpProblems(stack: StackConfig): { path: string[]; message: string }[] {
  if (stack.services.ldap !== undefined) return [];
  return MAIL_SENDERS.filter((service) => {
    const settings = stack.services[service];
    return settings !== undefined && settings.smtp.password === undefined;
  }).map((service) => ({ path: ["services", service, "smtp", "password"], message: MISSING_PASSWORD }));
}
