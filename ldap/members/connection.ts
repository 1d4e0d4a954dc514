import * as fs from "node:fs";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { Client } from "ldapts";
import { UsageError } from "./validate";

/**
 * How the CLI reaches the directory: flags first, then environment variables (a `.env` file works
 * too, see README). LDAPS by default; an ldap:// URL is upgraded with StartTLS (the directory refuses
 * passwords over plain LDAP anyway). The bind password is never a flag (it would show in `ps`).
 *
 *   LDAP_BASE_DN        required, e.g. dc=asso,dc=localhost
 *   LDAP_URL            default ldaps://ldap.<domain of the base DN>
 *   LDAP_BIND_DN        default cn=admin,<base DN>
 *   LDAP_BIND_PASSWORD  required (or --bind-password-file)
 *   LDAP_CA_FILE        PEM file of the CA to trust (the self-signed certificate on local); default: system CAs
 *   LDAP_TLS_SERVERNAME name to check in the certificate when the URL names an address or a tunnel
 */
export interface ConnectionFlags {
  url?: string;
  baseDn?: string;
  bindDn?: string;
  bindPasswordFile?: string;
  caFile?: string;
  tlsServername?: string;
}

export interface Connection {
  url: string;
  baseDn: string;
  bindDn: string;
  bindPassword: string;
  tls: TlsOptions;
  startTls: boolean;
}

const DN = /^[a-zA-Z]+=[^,=]+(,[a-zA-Z]+=[^,=]+)*$/;

/** Resolve flags and env into a connection, reporting every missing or malformed setting at once. */
export function resolveConnection(
  flags: ConnectionFlags,
  env: Record<string, string | undefined>,
  readFile: (file: string) => string = (file) => fs.readFileSync(file, "utf8"),
): Connection {
  const problems: string[] = [];
  const baseDn = flags.baseDn ?? env.LDAP_BASE_DN;
  if (!baseDn) {
    problems.push("--base-dn / LDAP_BASE_DN: missing; expected the directory's base DN such as dc=asso,dc=localhost");
  } else if (!DN.test(baseDn)) {
    problems.push(`--base-dn / LDAP_BASE_DN '${baseDn}': not a DN; expected a base DN such as dc=asso,dc=localhost`);
  }
  const domain = (baseDn ?? "")
    .split(",")
    .map((rdn) => /^dc=(.+)$/i.exec(rdn.trim())?.[1])
    .filter(Boolean)
    .join(".");
  const url = flags.url ?? env.LDAP_URL ?? (domain ? `ldaps://ldap.${domain}` : "");
  if (url && !/^ldaps?:\/\/[^/\s]+\/?$/.test(url)) {
    problems.push(`--url / LDAP_URL '${url}': not an LDAP URL; expected ldaps://host[:port] or ldap://host[:port] (StartTLS)`);
  }
  const bindDn = flags.bindDn ?? env.LDAP_BIND_DN ?? `cn=admin,${baseDn ?? ""}`;
  let bindPassword = env.LDAP_BIND_PASSWORD ?? "";
  if (flags.bindPasswordFile) {
    try {
      bindPassword = readFile(flags.bindPasswordFile).replace(/\r?\n$/, "");
    } catch {
      problems.push(`--bind-password-file '${flags.bindPasswordFile}': cannot be read; expected a file holding the password`);
    }
  }
  if (!bindPassword && !flags.bindPasswordFile) {
    problems.push("LDAP_BIND_PASSWORD: missing; expected the password of the bind DN (or --bind-password-file FILE)");
  }
  const caFile = flags.caFile ?? env.LDAP_CA_FILE;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFile(caFile);
    } catch {
      problems.push(`--ca-file / LDAP_CA_FILE '${caFile}': cannot be read; expected a PEM certificate file`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  const servername = flags.tlsServername ?? env.LDAP_TLS_SERVERNAME;
  return {
    url,
    baseDn: baseDn as string,
    bindDn,
    bindPassword,
    tls: { ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) },
    startTls: url.startsWith("ldap://"),
  };
}

/** An ldapts client, TLS established and bound. */
export async function connect(connection: Connection): Promise<Client> {
  // ldapts speaks TLS from the first byte whenever tlsOptions are given: for ldap:// they go to StartTLS only.
  const client = new Client({
    url: connection.url,
    ...(connection.startTls ? {} : { tlsOptions: connection.tls }),
    connectTimeout: 10_000,
    timeout: 30_000,
  });
  try {
    if (connection.startTls) await client.startTLS(connection.tls);
    await client.bind(connection.bindDn, connection.bindPassword);
  } catch (error) {
    // A refused bind leaves the socket open: close it, or the CLI would wait for the server's idle timeout.
    await client.unbind().catch(() => undefined);
    throw error;
  }
  return client;
}
