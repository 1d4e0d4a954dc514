import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/**
 * The directory's contract: what every service that reads the association's OpenLDAP directory relies
 * on (the DN layout, the service accounts, the URL rules, the healthcheck). The directory component
 * (ldap/) builds exactly this; consumers (mail, Mattermost, Nextcloud, hosts) read it from here and
 * never restate it. docs/contracts.md describes the same in words.
 */

/**
 * The accounts under `ou=services`, one per consuming service: read-only, but for `account` (the account
 * page), which sets members' passwords through Password Modify and edits their SSH keys.
 */
export const SERVICE_ACCOUNTS = ["mail", "mattermost", "nextcloud", "hosts", "account", "monitoring"] as const;
export type ServiceAccountName = (typeof SERVICE_ACCOUNTS)[number];

/** Service accounts that send mail through the mail server, each as `<service>@<domain>`. */
export const SENDING_ACCOUNTS = ["mattermost", "nextcloud", "account", "monitoring"] as const satisfies readonly ServiceAccountName[];
export type SendingAccountName = (typeof SENDING_ACCOUNTS)[number];

/** LDAPS port: the directory is only ever reached over TLS. */
export const LDAPS_PORT = 636;

/** `asso.localhost` -> `dc=asso,dc=localhost`. */
export function baseDnOf(domain: string): string {
  return domain
    .split(".")
    .map((label) => `dc=${label}`)
    .join(",");
}

/** `cn=<service>,ou=services,<base>`: the bind DN of a service account. */
export function serviceAccountDn(service: ServiceAccountName, baseDn: string): string {
  return `cn=${service},ou=services,${baseDn}`;
}

/** The mail address (and SMTP login) of a sending service account. */
export function serviceAccountMail(service: SendingAccountName, domain: string): string {
  return `${service}@${domain}`;
}

export function isSendingAccount(service: ServiceAccountName): service is SendingAccountName {
  return (SENDING_ACCOUNTS as readonly string[]).includes(service);
}

/** Env name of a service account's password in the directory container: `LDAP_SERVICE_PASSWORD_MAIL`. */
export function servicePasswordEnv(service: ServiceAccountName): string {
  return `LDAP_SERVICE_PASSWORD_${service.toUpperCase()}`;
}

/** The directory's public name, `ldap.<domain>`: its certificate carries it, on every host. */
export function directoryHostname(domain: string): string {
  return `ldap.${domain}`;
}

/** `ldaps://ldap.<domain>:636`: how clients name the directory. */
export function directoryUrl(domain: string): string {
  return `ldaps://${directoryHostname(domain)}:${LDAPS_PORT}`;
}

/** A stack setting naming the directory: LDAPS only, never plain LDAP. */
export const ldapsUrl = () =>
  z
    .string()
    .regex(/^ldaps:\/\/[a-z0-9.-]+(:\d{1,5})?$/, { error: "expected ldaps://host[:port] (the directory is only reached over TLS)" });

/** `ldaps://host[:port]` split for clients that take host and port apart (Nextcloud's user_ldap). */
export function ldapsHostAndPort(url: string): { url: string; port: number } {
  const parsed = new URL(url);
  return { url: `ldaps://${parsed.hostname}`, port: Number(parsed.port || LDAPS_PORT) };
}

/** The directory answers on its local socket: the healthcheck of every container of its image. */
export const DIRECTORY_HEALTHCHECK = ["CMD", "ldapsearch", "-H", "ldapi:///", "-x", "-b", "", "-s", "base"];

export interface ServiceAccount {
  /** Bind DN, e.g. cn=mail,ou=services,dc=asso,dc=localhost. */
  dn: string;
  password: pulumi.Output<string>;
  /** Mail address of the account (service accounts that send mail). */
  mail?: string;
}

/** What the directory provides to the services on the same host. */
export interface DirectoryEndpoint {
  /** ldaps://ldap.<domain>:636, reachable on the directory network. */
  url: string;
  baseDn: string;
  /** Internal network that clients join to reach the directory. */
  network: docker.Network;
  /** Volume holding the directory's certificate (tls.crt), for clients that must trust it. */
  certificates: docker.Volume;
  /** The read-only account of a consuming service. */
  serviceAccounts: Record<ServiceAccountName, ServiceAccount>;
}
