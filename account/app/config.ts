import * as fs from "node:fs";

/**
 * The account page's settings, from its container's environment (account/component.ts writes them).
 * Secrets arrive as files: `<NAME>_FILE` holds the path (platform/container.ts), never the value.
 */
export interface AppConfig {
  /** Port the page listens on (HTTP; the proxy terminates TLS). */
  port: number;
  /** Port of the proxy's tech login (`/auth/tech`, tech-auth.ts): on the host's networks only, never routed. */
  authPort: number;
  /** `https://account.<domain>`: the links in the mails start with it. */
  publicUrl: string;
  ldap: { url: string; baseDn: string; bindDn: string; password: string; ca?: string; servername?: string };
  smtp: { host: string; port: number; user: string; password: string; verifyCertificate: boolean };
  /** Where pending invitations and reset links are kept (a volume). */
  dataDir: string;
  invitationHours: number;
  resetMinutes: number;
  /** Attempts per client address and form in each window, on the login, reset and invitation forms. */
  rateLimit: { attempts: number; windowSeconds: number };
}

export class ConfigError extends Error {}

export function readConfig(env: Record<string, string | undefined>, readFile = (file: string) => fs.readFileSync(file, "utf8")): AppConfig {
  const problems: string[] = [];
  const text = (name: string, fallback?: string): string => {
    const value = env[name] ?? fallback;
    if (value === undefined || value === "") problems.push(`${name}: missing`);
    return value ?? "";
  };
  const secret = (name: string): string => {
    const file = env[`${name}_FILE`];
    if (!file) {
      problems.push(`${name}_FILE: missing; expected the path of the file holding ${name}`);
      return "";
    }
    try {
      return readFile(file).replace(/\r?\n$/, "");
    } catch {
      problems.push(`${name}_FILE '${file}': cannot be read`);
      return "";
    }
  };
  const number = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) problems.push(`${name} '${raw}': expected a positive whole number`);
    return value;
  };
  const caFile = env.ACCOUNT_LDAP_CA_FILE;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFile(caFile);
    } catch {
      problems.push(`ACCOUNT_LDAP_CA_FILE '${caFile}': cannot be read`);
    }
  }
  const baseDn = text("ACCOUNT_LDAP_BASE_DN");
  const config: AppConfig = {
    port: number("ACCOUNT_PORT", 8080),
    authPort: number("ACCOUNT_AUTH_PORT", 8081),
    publicUrl: text("ACCOUNT_PUBLIC_URL").replace(/\/$/, ""),
    ldap: {
      url: text("ACCOUNT_LDAP_URL"),
      baseDn,
      bindDn: `cn=account,ou=services,${baseDn}`,
      password: secret("ACCOUNT_LDAP_PASSWORD"),
      ca,
      servername: env.ACCOUNT_LDAP_SERVERNAME || undefined,
    },
    smtp: {
      host: text("ACCOUNT_SMTP_HOST"),
      port: number("ACCOUNT_SMTP_PORT", 587),
      user: text("ACCOUNT_SMTP_USER"),
      password: secret("ACCOUNT_SMTP_PASSWORD"),
      verifyCertificate: env.ACCOUNT_SMTP_VERIFY_CERTIFICATE !== "false",
    },
    dataDir: text("ACCOUNT_DATA_DIR", "/var/lib/account"),
    invitationHours: number("ACCOUNT_INVITATION_HOURS", 168),
    resetMinutes: number("ACCOUNT_RESET_MINUTES", 60),
    rateLimit: { attempts: number("ACCOUNT_RATE_LIMIT_ATTEMPTS", 10), windowSeconds: number("ACCOUNT_RATE_LIMIT_WINDOW_SECONDS", 900) },
  };
  if (problems.length > 0) throw new ConfigError(`account page: ${problems.join("; ")}`);
  return config;
}
