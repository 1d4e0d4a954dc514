import * as fs from "node:fs";
import Table from "cli-table3";
import { Command, CommanderError, Option } from "commander";
import { ResultCodeError } from "ldapts";
import { connect, resolveConnection, type Connection, type ConnectionFlags } from "./connection";
import { MembersDirectory } from "./directory";
import { describePlan, planExpiry } from "./expire";
import { memberCounts, toCsv } from "./export";
import { accountUrl, requestInvitation, type InvitationResult } from "./invitation";
import type { Person } from "./person";
import {
  validateAll,
  isoDay,
  parseDate,
  parseDays,
  parseNewEmail,
  parseNewUid,
  parseMoment,
  parseName,
  parsePersonType,
  parseRole,
  parseSshKey,
  parseUid,
  toGeneralizedTime,
  UsageError,
} from "./validate";

/**
 * `npm run members -- <command>`: the association's members in the directory (docs/contracts.md).
 * Every argument is checked before anything is written; a mistake exits with code 2 and says which
 * argument, what was wrong and what is expected. The directory refusing something exits with code 1.
 */

const program = new Command("members")
  .description("Manage the association's members, the tech team's access and its end dates in the directory")
  .addHelpText(
    "after",
    `
Connection (flags or environment): LDAP_BASE_DN (required), LDAP_URL (default ldaps://ldap.<domain>),
LDAP_BIND_DN (default cn=admin,<base>), LDAP_BIND_PASSWORD (required, or --bind-password-file),
LDAP_CA_FILE, LDAP_TLS_SERVERNAME. ldap:// URLs use StartTLS. Invitations go through the account page:
ACCOUNT_URL (default https://account.<domain>), ACCOUNT_CA_FILE.`,
  )
  .option("--url <url>", "directory URL (env LDAP_URL)")
  .option("--base-dn <dn>", "base DN, e.g. dc=asso,dc=localhost (env LDAP_BASE_DN)")
  .option("--bind-dn <dn>", "DN to bind as (env LDAP_BIND_DN; default cn=admin,<base>)")
  .option("--bind-password-file <file>", "file holding the bind password (else env LDAP_BIND_PASSWORD)")
  .option("--ca-file <file>", "PEM file of the CA to trust (env LDAP_CA_FILE)")
  .option("--tls-servername <name>", "name expected in the certificate (env LDAP_TLS_SERVERNAME)")
  .option("--account-url <url>", "the account page, which sends invitations (env ACCOUNT_URL; default https://account.<domain>)")
  .option("--account-ca-file <file>", "PEM file of the CA the account page's certificate comes from (env ACCOUNT_CA_FILE)")
  .showHelpAfterError("(add --help for usage)");

const collectValues = (value: string, previous: string[]) => [...previous, value];
const nowOption = () => new Option("--now <moment>", "pretend the current time is this (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");

/** Connect with the global options, run, and always close the connection. */
async function withDirectory<T>(command: Command, use: (directory: MembersDirectory, connection: Connection) => Promise<T>): Promise<T> {
  const connection: Connection = resolveConnection(command.optsWithGlobals<ConnectionFlags>(), process.env);
  const client = await connect(connection).catch((error: Error) => {
    throw new DirectoryUnreachable(connection.url, error);
  });
  try {
    return await use(new MembersDirectory(client, connection.baseDn), connection);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** Ask the account page for an invitation (mailed, or returned with mail: false) and say what happened. */
async function invite(command: Command, connection: Connection, uid: string, mail: boolean): Promise<void> {
  const flags = command.optsWithGlobals<{ accountUrl?: string; accountCaFile?: string }>();
  const caFile = flags.accountCaFile ?? process.env.ACCOUNT_CA_FILE;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, "utf8");
    } catch {
      throw new UsageError([`--account-ca-file / ACCOUNT_CA_FILE '${caFile}': cannot be read; expected a PEM certificate file`]);
    }
  }
  const url = accountUrl(connection.baseDn, process.env, flags.accountUrl);
  const result: InvitationResult = await requestInvitation(connection, url, { uid, mail }, ca);
  console.log(
    result.link
      ? `${uid}: invitation link (valid ${result.expiresInHours} h, works once): ${result.link}`
      : `${uid}: invitation mailed to ${result.mailedTo} (valid ${result.expiresInHours} h)`,
  );
}

class DirectoryUnreachable extends Error {
  constructor(url: string, cause: Error) {
    super(
      cause instanceof ResultCodeError
        ? `cannot bind to ${url}: ${describeLdapError(cause)}; check LDAP_BIND_DN and LDAP_BIND_PASSWORD`
        : `cannot reach ${url}: ${cause.message}; check LDAP_URL, LDAP_CA_FILE and that the directory runs`,
    );
  }
}

/** `InvalidCredentialsError` -> `invalid credentials (code 49)`, plus the server's own words when it gave some. */
export function describeLdapError(error: ResultCodeError): string {
  const kind = error.constructor.name
    .replace(/Error$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
  const detail = error.message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, "").trim();
  return `${kind} (code ${error.code})${detail && detail.toLowerCase() !== kind ? `: ${detail}` : ""}`;
}

async function findMember(directory: MembersDirectory, uid: string): Promise<Person> {
  const person = await directory.find(uid);
  if (!person) throw new UsageError([`uid '${uid}': no such member; expected the uid of an existing member (see 'list')`]);
  return person;
}

program
  .command("add")
  .description("Add a member (a person, or a legal person without a login) and put them in the members group")
  .requiredOption("--uid <uid>", "login, e.g. jdupont (2-32 of a-z 0-9 . _ -, starting with a letter)")
  .requiredOption("--name <name>", "full name, e.g. 'Jeanne Dupont', or the organisation's name")
  .requiredOption("--email <address>", "mailbox address")
  .option("--type <type>", "physical or legal", "physical")
  .option("--role <role>", "member, tech or admin (tech and admin need --access-until)", "member")
  .option("--until <date>", "end of the membership, YYYY-MM-DD")
  .option("--access-until <date>", "end of the tech/admin access, YYYY-MM-DD")
  .option("--ssh-key <key>", "SSH public key line (repeat for several)", collectValues, [])
  .option("--ssh-key-file <file>", "file of SSH public keys, one per line (e.g. ~/.ssh/id_ed25519.pub)")
  .option("--no-mail", "print the invitation link instead of mailing it")
  .option("--no-invitation", "send no invitation now (later: 'members invite <uid>')")
  .action(async (opts, command: Command) => {
    const keyLines = [...opts.sshKey, ...(opts.sshKeyFile ? readKeyFile(opts.sshKeyFile) : [])];
    const input = validateAll({
      uid: () => parseNewUid(opts.uid),
      name: () => parseName(opts.name),
      mail: () => parseNewEmail(opts.email),
      type: () => parsePersonType(opts.type),
      role: () => parseRole(opts.role),
      membershipEnd: () => (opts.until ? parseDate(opts.until, "--until") : undefined),
      accessEnd: () => (opts.accessUntil ? parseDate(opts.accessUntil, "--access-until") : undefined),
      sshKeys: () => validateAll(Object.fromEntries(keyLines.map((key, i) => [String(i), () => parseSshKey(key)]))),
    });
    const sshKeys = Object.values(input.sshKeys);
    const problems: string[] = [];
    if (input.type === "legal" && input.role !== "member")
      problems.push(`--role '${input.role}': a legal person has no login; expected member`);
    if (input.type === "legal" && sshKeys.length > 0) problems.push("--ssh-key: a legal person has no login; expected no SSH key");
    if (input.role !== "member" && !input.accessEnd)
      problems.push(`--access-until: missing; expected the end date of the ${input.role} access, YYYY-MM-DD`);
    if (input.role === "member" && input.accessEnd)
      problems.push("--access-until: only for --role tech or admin; expected no access end for a member");
    if (problems.length > 0) throw new UsageError(problems);

    await withDirectory(command, async (directory, connection) => {
      const taken: string[] = [];
      if (await directory.find(input.uid)) taken.push(`--uid '${input.uid}': already taken; expected a uid no member has`);
      const owner = await directory.mailOwner(input.mail);
      if (owner) taken.push(`--email '${input.mail}': already used by ${owner}; expected an address no member, group or service uses`);
      if (taken.length > 0) throw new UsageError(taken);
      const groups = input.role === "admin" ? (["tech", "admins"] as const) : input.role === "tech" ? (["tech"] as const) : [];
      const { dn, uidNumber } = await directory.add({ ...input, sshKeys, groups: [...groups] });
      console.log(`added ${dn}${uidNumber ? ` (uidNumber ${uidNumber})` : ""}, groups: ${["members", ...groups].join(", ")}`);
      if (input.type === "physical" && opts.invitation) {
        await invite(command, connection, input.uid, opts.mail).catch((error: Error) => {
          throw new Error(`${input.uid} is added, but got no invitation: ${error.message}; send one with 'members invite ${input.uid}'`);
        });
      }
    });
  });

program
  .command("invite")
  .description("Send a member a new invitation to choose their password (the previous link stops working)")
  .argument("<uid>", "the member's uid")
  .option("--no-mail", "print the link instead of mailing it")
  .action(async (uid: string, opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid) });
    await withDirectory(command, async (directory, connection) => {
      const person = await findMember(directory, input.uid);
      if (person.type === "legal")
        throw new UsageError([`uid '${input.uid}': is a legal person, without a login; expected a physical member`]);
      await invite(command, connection, input.uid, opts.mail);
    });
  });

const keys = program.command("keys").description("A member's SSH public keys (the hosts let tech members in with them)");

keys
  .command("list")
  .description("Show a member's SSH public keys, numbered")
  .argument("<uid>", "the member's uid")
  .action(async (uid: string, _opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid) });
    await withDirectory(command, async (directory) => {
      const found = await directory.sshKeys(await findMember(directory, input.uid));
      found.forEach((key, index) => console.log(`${index + 1}  ${key}`));
      console.log(`${found.length} key(s)`);
    });
  });

keys
  .command("add")
  .description("Add SSH public keys to a member (checked like 'add --ssh-key')")
  .argument("<uid>", "the member's uid")
  .option("--ssh-key <key>", "SSH public key line (repeat for several)", collectValues, [])
  .option("--ssh-key-file <file>", "file of SSH public keys, one per line (e.g. ~/.ssh/id_ed25519.pub)")
  .action(async (uid: string, opts, command: Command) => {
    const keyLines = [...opts.sshKey, ...(opts.sshKeyFile ? readKeyFile(opts.sshKeyFile) : [])];
    const input = validateAll({
      uid: () => parseUid(uid),
      sshKeys: () => validateAll(Object.fromEntries(keyLines.map((key, i) => [String(i), () => parseSshKey(key)]))),
    });
    const wanted = Object.values(input.sshKeys);
    if (wanted.length === 0) throw new UsageError(["--ssh-key: missing; expected at least one key (--ssh-key or --ssh-key-file)"]);
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      if (person.type === "legal")
        throw new UsageError([`uid '${input.uid}': is a legal person, without a login; expected a physical member`]);
      const present = (await directory.sshKeys(person)).map(keyData);
      const fresh = [...new Set(wanted)].filter((key) => !present.includes(keyData(key)));
      if (fresh.length > 0) await directory.addSshKeys(person, fresh);
      console.log(
        `${input.uid}: ${fresh.length} key(s) added${fresh.length < wanted.length ? `, ${wanted.length - fresh.length} already there` : ""}`,
      );
    });
  });

keys
  .command("remove")
  .description("Remove one SSH public key of a member, by its number in 'keys list' or its key line")
  .argument("<uid>", "the member's uid")
  .argument("<key>", "the key's number in 'keys list', or the key line")
  .action(async (uid: string, key: string, _opts, command: Command) => {
    const input = validateAll({
      uid: () => parseUid(uid),
      key: () => (/^\d+$/.test(key) ? Number(key) : parseSshKey(key, "<key>")),
    });
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      const present = await directory.sshKeys(person);
      const target =
        typeof input.key === "number" ? present[input.key - 1] : present.find((line) => keyData(line) === keyData(input.key as string));
      if (target === undefined) {
        throw new UsageError([
          `<key> '${key}': ${input.uid} has no such key; expected a number from 1 to ${present.length} or a key line from 'keys list'`,
        ]);
      }
      await directory.removeSshKey(person, target);
      console.log(`${input.uid}: key removed: ${target}`);
    });
  });

/** A key's type and data, without its comment: two lines with the same key and other comments are one key. */
function keyData(line: string): string {
  return line.split(/\s+/).slice(0, 2).join(" ");
}

function readKeyFile(file: string): string[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "" && !line.startsWith("#"));
  } catch {
    throw new UsageError([`--ssh-key-file '${file}': cannot be read; expected a file of SSH public keys`]);
  }
}

program
  .command("renew")
  .description("Set the end of a member's membership")
  .argument("<uid>", "the member's uid")
  .requiredOption("--until <date>", "new end of the membership, YYYY-MM-DD")
  .action(async (uid: string, opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid), until: () => parseDate(opts.until, "--until") });
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      await directory.renew(person, input.until);
      console.log(`${input.uid}: membership until ${isoDay(input.until)}`);
    });
  });

program
  .command("grant-tech")
  .description("Give a member the tech access to the hosts (and sudo with --admin) until a date")
  .argument("<uid>", "the member's uid")
  .requiredOption("--until <date>", "end of the access, YYYY-MM-DD (after today); 'expire' closes it then")
  .option("--admin", "also in the admins group (sudo on the hosts)")
  .action(async (uid: string, opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid), until: () => parseDate(opts.until, "--until") });
    if (input.until <= toGeneralizedTime(new Date())) {
      throw new UsageError([`--until '${opts.until}': is not after today; expected a future end date for the access`]);
    }
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      if (person.type === "legal")
        throw new UsageError([`uid '${input.uid}': is a legal person, without a login; expected a physical member`]);
      await directory.grantTech(person, input.until, opts.admin === true);
      console.log(`${input.uid}: ${opts.admin ? "tech and admins" : "tech"} until ${isoDay(input.until)}`);
    });
  });

program
  .command("revoke-tech")
  .description("Take the tech access away now (with --admin: only the admin rights, tech stays)")
  .argument("<uid>", "the member's uid")
  .option("--admin", "leave only the admins group")
  .action(async (uid: string, opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid) });
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      const groups = opts.admin ? (["admins"] as const) : (["tech", "admins"] as const);
      const before = groups.filter((g) => (g === "tech" ? person.tech : person.admin));
      await directory.revoke(person, [...groups]);
      console.log(
        before.length > 0
          ? `${input.uid}: removed from ${before.join(", ")}`
          : `${input.uid}: not in ${groups.join(" or ")}; nothing changed`,
      );
    });
  });

program
  .command("list")
  .description("Show the members as a table")
  .addOption(new Option("--expiring <days>", "only those whose membership or access ends within this many days, e.g. 30d"))
  .addOption(nowOption())
  .action(async (opts, command: Command) => {
    const input = validateAll({
      days: () => (opts.expiring ? parseDays(opts.expiring) : undefined),
      now: () => (opts.now ? parseMoment(opts.now) : new Date()),
    });
    await withDirectory(command, async (directory) => {
      let people = (await directory.people()).sort((a, b) => a.uid.localeCompare(b.uid));
      if (input.days !== undefined) {
        const from = toGeneralizedTime(input.now);
        const to = toGeneralizedTime(new Date(input.now.getTime() + input.days * 86_400_000));
        const within = (end?: string) => end !== undefined && end >= from && end <= to;
        people = people.filter((p) => within(p.membershipEnd) || within(p.accessEnd));
      }
      const table = new Table({ head: ["uid", "name", "email", "type", "membership end", "groups", "access end", "status"] });
      for (const p of people) {
        const groups = [p.tech ? "tech" : "", p.admin ? "admins" : ""].filter(Boolean).join(", ");
        table.push([p.uid, p.name, p.mail, p.type, isoDay(p.membershipEnd), groups, isoDay(p.accessEnd), p.lockedTime ? "locked" : ""]);
      }
      console.log(table.toString());
      console.log(`${people.length} member(s)`);
    });
  });

program
  .command("expire")
  .description("Close every access past its end date: out of tech/admins, shadowExpire set, password locked")
  .option("--dry-run", "print what would change, change nothing")
  .addOption(nowOption())
  .action(async (opts, command: Command) => {
    const input = validateAll({ now: () => (opts.now ? parseMoment(opts.now) : new Date()) });
    await withDirectory(command, async (directory) => {
      const plans = planExpiry(await directory.people("(&(objectClass=assoMember)(assoAccessEnd=*))"), input.now, directory.baseDn);
      for (const plan of plans) {
        if (!opts.dryRun) await directory.applyExpiry(plan);
        console.log(describePlan(plan));
      }
      console.log(
        plans.length === 0
          ? "nothing to change"
          : opts.dryRun
            ? `${plans.length} to change (dry run: nothing written)`
            : `${plans.length} changed`,
      );
    });
  });

program
  .command("remove")
  .description("Delete a member's entry (and their group memberships)")
  .argument("<uid>", "the member's uid")
  .action(async (uid: string, _opts, command: Command) => {
    const input = validateAll({ uid: () => parseUid(uid) });
    await withDirectory(command, async (directory) => {
      const person = await findMember(directory, input.uid);
      await directory.remove(person);
      console.log(`removed ${person.dn}`);
    });
  });

program
  .command("export")
  .description("Write the members as CSV for the general assembly; print the counts of physical and legal members")
  .option("--output <file>", "write the CSV to this file instead of the standard output")
  .addOption(nowOption())
  .action(async (opts, command: Command) => {
    const input = validateAll({ now: () => (opts.now ? parseMoment(opts.now) : new Date()) });
    await withDirectory(command, async (directory) => {
      const people = await directory.people();
      const csv = toCsv(people, input.now);
      if (opts.output) fs.writeFileSync(opts.output, csv);
      else process.stdout.write(csv);
      // The counts go to stderr so that the CSV stays a clean table.
      console.error(memberCounts(people, input.now));
    });
  });

/** Exit codes: 0 done, 1 the directory refused or could not be reached, 2 a mistake in the arguments. */
export async function main(argv: string[]): Promise<number> {
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const name = program.args[0] ?? "members";
    if (error instanceof UsageError) {
      for (const problem of error.problems) console.error(`members ${name}: ${problem}`);
      console.error(`Nothing was written. See: npm run members -- ${name} --help`);
      return 2;
    }
    if (error instanceof ResultCodeError) {
      console.error(`members ${name}: the directory refused: ${describeLdapError(error)}`);
      return 1;
    }
    console.error(`members ${name}: ${(error as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  // Set the exit code and let Node end once stdout is flushed: process.exit() would cut piped output.
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
