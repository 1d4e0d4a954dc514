/**
 * Validation of what a person types on the command line. Pure functions: each returns the value to
 * write, or throws a UsageError whose message names the argument, says what was wrong and what is
 * expected. Nothing reaches the directory before every argument of a command has passed.
 */
import { checkSshKey, SSH_KEY_TYPES } from "../../platform/ssh-key";

export class UsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "UsageError";
  }
}

/** Run every check, then throw one UsageError listing all the problems (or return the values). */
export function validateAll<T extends Record<string, () => unknown>>(checks: T): { [K in keyof T]: ReturnType<T[K]> } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, check] of Object.entries(checks)) {
    try {
      values[key] = check();
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  return values as { [K in keyof T]: ReturnType<T[K]> };
}

function fail(argument: string, value: string, wrong: string, expected: string): never {
  throw new UsageError([`${argument} '${value}': ${wrong}; expected ${expected}`]);
}

const UID = /^[a-z][a-z0-9._-]{1,31}$/;

/**
 * Names of local accounts on the hosts and in our images: Debian's base accounts, those of the packages a
 * host or an image installs, and the connection account `hosts/bootstrap.sh` makes (deploy by convention).
 * A member with such a uid would be that local account for sssd, the keys command and mail lookups.
 */
export const LOCAL_ACCOUNTS = [
  "root",
  "daemon",
  "bin",
  "sys",
  "sync",
  "games",
  "man",
  "lp",
  "mail",
  "news",
  "uucp",
  "proxy",
  "www-data",
  "backup",
  "list",
  "irc",
  "gnats",
  "nobody",
  "messagebus",
  "sshd",
  "polkitd",
  "tss",
  "statd",
  "sssd",
  "dnsmasq",
  "unbound",
  "chrony",
  "ntp",
  "postfix",
  "dovecot",
  "dovenull",
  "vmail",
  "openldap",
  "rspamd",
  "redis",
  "postgres",
  "node",
  "debian",
  "admin",
  "deploy",
  "docker",
  "ubuntu",
];

/** A login: 2-32 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter. */
export function parseUid(value: string, argument = "uid"): string {
  if (!UID.test(value)) {
    fail(argument, value, "not a valid uid", "2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. jdupont)");
  }
  return value;
}

/** A new member's uid: a valid uid that is not the name of a local account of the hosts. */
export function parseNewUid(value: string, argument = "--uid"): string {
  parseUid(value, argument);
  if (LOCAL_ACCOUNTS.includes(value) || value.startsWith("systemd-")) {
    fail(argument, value, "is a local system account of the hosts", "a personal login that is no system account (e.g. jdupont)");
  }
  return value;
}

const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function parseEmail(value: string, argument = "--email"): string {
  if (!EMAIL.test(value) || value.includes("..") || value.length > 254) {
    fail(argument, value, "not an email address", "an address such as jeanne.dupont@example.org");
  }
  return value.toLowerCase();
}

/** Addresses the mail server handles itself (RFC 2142 role addresses): never a member's mailbox. */
export const ROLE_MAILBOXES = ["postmaster", "abuse", "hostmaster", "webmaster", "mailer-daemon", "root", "noreply", "no-reply"];

/** A new member's address: an address whose local part is not a role address of the mail server. */
export function parseNewEmail(value: string, argument = "--email"): string {
  const mail = parseEmail(value, argument);
  if (ROLE_MAILBOXES.includes(mail.split("@")[0])) {
    fail(argument, value, "is a role address of the mail server", "the member's own address (e.g. jeanne.dupont@example.org)");
  }
  return mail;
}

export function parseName(value: string, argument = "--name"): string {
  const name = value.trim().replace(/\s+/g, " ");
  // eslint-disable-next-line no-control-regex -- control characters are what this check refuses
  if (name.length === 0 || name.length > 128 || /[\u0000-\u001f]/.test(name)) {
    fail(argument, value, "not a usable name", "the person's or organisation's name, 1 to 128 characters");
  }
  return name;
}

export const PERSON_TYPES = ["physical", "legal"] as const;
export type PersonType = (typeof PERSON_TYPES)[number];

export function parsePersonType(value: string, argument = "--type"): PersonType {
  if (!(PERSON_TYPES as readonly string[]).includes(value)) {
    fail(argument, value, "unknown person type", "physical (a person) or legal (an association, a company)");
  }
  return value as PersonType;
}

export const ROLES = ["member", "tech", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function parseRole(value: string, argument = "--role"): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    fail(argument, value, "unknown role", "member, tech (logins on the hosts) or admin (tech + sudo)");
  }
  return value as Role;
}

/** An ISO calendar date (YYYY-MM-DD), as the LDAP GeneralizedTime of that day's 00:00 UTC. */
export function parseDate(value: string, argument: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!match || !date || date.getUTCMonth() !== Number(match[2]) - 1 || date.getUTCDate() !== Number(match[3])) {
    fail(argument, value, "not a date", "a date written YYYY-MM-DD, such as 2026-09-30");
  }
  return `${match[1]}${match[2]}${match[3]}000000Z`;
}

/** A moment for --now: a date (YYYY-MM-DD) or an ISO date-time with Z (2026-11-28T12:00:00Z). */
export function parseMoment(value: string, argument = "--now"): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? fromGeneralizedTime(parseDate(value, argument))
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(value)
      ? new Date(value)
      : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    fail(argument, value, "not a date or time", "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
  }
  return date;
}

/** A number of days written like 30d, for `list --expiring`. */
export function parseDays(value: string, argument = "--expiring"): number {
  const match = /^(\d{1,4})d$/.exec(value);
  if (!match || Number(match[1]) === 0) fail(argument, value, "not a number of days", "a number of days such as 30d");
  return Number(match[1]);
}

export function toGeneralizedTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

export function fromGeneralizedTime(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(value);
  if (!m) throw new Error(`not a GeneralizedTime in UTC: ${value}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)));
}

/** `20260930000000Z` -> `2026-09-30` (for people reading tables and CSV). */
export function isoDay(value: string | undefined): string {
  return value ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}` : "";
}

/** An OpenSSH public key line, checked by the one rule (platform/ssh-key.ts); returns it without surrounding spaces. */
export function parseSshKey(value: string, argument = "--ssh-key"): string {
  const line = value.trim();
  const shown = line.length > 40 ? `${line.slice(0, 37)}...` : line;
  const expected = "one OpenSSH public key line such as 'ssh-ed25519 AAAAC3Nza... jeanne@laptop' (the .pub file)";
  const checked = checkSshKey(value);
  if (checked.ok) return checked.key;
  switch (checked.problem) {
    case "not-a-key":
      return fail(argument, shown, "not an SSH public key", expected);
    case "unsupported-type":
      return fail(argument, shown, `unsupported key type '${checked.type}'`, `one of ${SSH_KEY_TYPES.join(", ")}`);
    case "not-base64":
      return fail(argument, shown, "the key data is not base64", expected);
    case "wrong-data":
      return fail(argument, shown, `the key data does not hold a ${checked.type} key (cut short, or of another type)`, expected);
    case "weak-rsa":
      return fail(argument, shown, `RSA key of ${checked.bits} bits is too weak`, "an ed25519 key, or RSA of 2048 bits or more");
  }
}
