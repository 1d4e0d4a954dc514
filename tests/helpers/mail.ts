import { execFile } from "node:child_process";
import * as path from "node:path";
import * as tls from "node:tls";
import { Attribute, Change, Client } from "ldapts";
import { readStackFile, renderStack } from "../../stacks/render";
import { dockerOk } from "./docker";
import { startStack, type RunningStack } from "./harness";

/**
 * What the mail scenarios and the benchmark share: the directory and the three mail daemons started
 * from the rendered local stack, people seeded in the directory, swaks to talk SMTP and a small IMAP
 * client (node:tls) to read mailboxes.
 */

export const DOMAIN = "asso.localhost";
/** Start order: Dovecot makes the self-signed certificate Postfix waits for. */
export const MAIL_STACK = ["ldap", "mail-rspamd", "mail-dovecot", "mail-postfix"];
export const CLIENT_IMAGE = "infra-test/mail-client:local";

export interface Person {
  uid: string;
  mail: string;
  password: string;
  aliases: string[];
}

export const alice: Person = { uid: "alice", mail: `alice@${DOMAIN}`, password: "alice-Secret-1", aliases: [`contact@${DOMAIN}`] };
export const bob: Person = { uid: "bob", mail: `bob@${DOMAIN}`, password: "bob-Secret-1", aliases: [] };
export const carol: Person = { uid: "carol", mail: `carol@${DOMAIN}`, password: "carol-Secret-1", aliases: [] };

/**
 * The mail containers of the rendered local stack; `mail` settings, when given, are merged over the local
 * stack file's `services.mail` (e.g. a sending limit a scenario can reach quickly), through the same render.
 */
export async function startMailStack(mail: Record<string, unknown> = {}): Promise<RunningStack> {
  if (Object.keys(mail).length === 0) return startStack({ stack: "local", containers: MAIL_STACK });
  const config = readStackFile("local");
  const services = config["infra:services"] as Record<string, Record<string, unknown>>;
  const withMail = { ...config, "infra:services": { ...services, mail: { ...services.mail, ...mail } } };
  return startStack({ stack: "local", containers: MAIL_STACK, rendered: await renderStack("local", withMail) });
}

/** A client bound as the directory admin (the rendered password), over LDAPS. */
export async function adminClient(stack: RunningStack): Promise<Client> {
  const client = new Client({ url: `ldaps://${await stack.ip("ldap")}:636`, tlsOptions: { rejectUnauthorized: false }, timeout: 10_000 });
  const baseDn = stack.spec("ldap").env.LDAP_BASE_DN;
  await client.bind(`cn=admin,${baseDn}`, stack.spec("ldap").secrets.LDAP_ADMIN_PASSWORD);
  return client;
}

/** Add people (with their aliases) and make some of them members of the tech group. */
export async function seedPeople(stack: RunningStack, people: Person[], techMembers: Person[] = []): Promise<void> {
  const baseDn = stack.spec("ldap").env.LDAP_BASE_DN;
  const client = await adminClient(stack);
  try {
    for (const [index, person] of people.entries()) {
      await client.add(`uid=${person.uid},ou=people,${baseDn}`, {
        objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "assoMember"],
        uid: person.uid,
        cn: person.uid,
        sn: person.uid,
        mail: person.mail,
        ...(person.aliases.length > 0 ? { assoMailAlias: person.aliases } : {}),
        uidNumber: String(20000 + index),
        gidNumber: "10000",
        homeDirectory: `/home/${person.uid}`,
        assoPersonType: "physical",
        userPassword: person.password,
      });
    }
    if (techMembers.length > 0) {
      await client.modify(`cn=tech,ou=groups,${baseDn}`, [
        new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: techMembers.map((p) => `uid=${p.uid},ou=people,${baseDn}`) }),
        }),
      ]);
    }
  } finally {
    await client.unbind();
  }
}

export interface SwaksResult {
  exitCode: number;
  transcript: string;
}

/** Run swaks from the test process (`--server` and the rest in args); never throws on an SMTP error. */
export function swaks(args: string[], timeoutMs = 60_000): Promise<SwaksResult> {
  return new Promise((resolve) => {
    execFile("swaks", ["--timeout", "30", ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code =
        error && typeof (error as NodeJS.ErrnoException & { code?: unknown }).code === "number"
          ? (error as unknown as { code: number }).code
          : error
            ? 1
            : 0;
      resolve({ exitCode: code, transcript: stdout + stderr });
    });
  });
}

/** swaks arguments to send one message: sender, recipient, a subject that identifies it. */
export function message(from: string, to: string, subject: string, body = "Hello from the mail scenarios."): string[] {
  return ["--from", from, "--to", to, "--helo", "client.example.net", "--header", `Subject: ${subject}`, "--body", body];
}

/** swaks arguments to log in on submission (587, STARTTLS). */
export function submissionAs(person: { mail: string; password: string }): string[] {
  return ["--port", "587", "--tls", "--auth", "PLAIN", "--auth-user", person.mail, "--auth-password", person.password];
}

/** Messages of a mailbox's INBOX (full RFC 5322 text), read over IMAPS. */
export async function readInbox(host: string, user: string, password: string): Promise<string[]> {
  return readFolder(host, user, password, "INBOX");
}

/** Whoever reads a mailbox over IMAPS: its address (the login) and password. */
export interface Mailbox {
  mail: string;
  password: string;
}

/** A RegExp matching `subject` literally: a subject may hold characters that mean something in a RegExp ("[sieve]", "+", "."). */
export function subjectPattern(subject: string): RegExp {
  return new RegExp(subject.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/** Wait until a folder of `reader`'s mailbox (the INBOX unless said) holds the message with this subject, and return it. */
export async function waitForSubject(
  host: string,
  reader: Mailbox,
  subject: string,
  options: { folder?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { folder = "INBOX", timeoutMs = 30_000 } = options;
  const match = subjectPattern(subject);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await readFolder(host, reader.mail, reader.password, folder)).find((m) => match.test(m));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no message matching ${match} in ${reader.mail}'s ${folder} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One message to send with swaks and read back over IMAPS. */
export interface RoundTrip {
  /** swaks arguments that choose the port and the login, e.g. submissionAs(alice); none: port 25, no login. */
  via?: string[];
  from: string;
  to: string;
  /** Identifies the message: make it unique per scenario. */
  subject: string;
  body?: string;
  /** Whose mailbox must receive it: the recipient, an alias's owner, each member of a group. */
  readers: Mailbox[];
  /** The folder it must land in (e.g. where a Sieve script files it); the INBOX unless said. */
  folder?: string;
}

/**
 * Send one message with swaks to the SMTP server `mx`, then wait until each reader's mailbox on `imap` holds
 * it (found by its subject, matched literally). Fails with swaks's transcript when swaks does not exit 0,
 * rather than waiting for a message that was never accepted. Returns the transcript and each reader's copy.
 */
export async function sendAndRead(
  servers: { mx: string; imap: string },
  mail: RoundTrip,
): Promise<{ sent: SwaksResult; received: string[] }> {
  const sent = await swaks(["--server", servers.mx, ...(mail.via ?? []), ...message(mail.from, mail.to, mail.subject, mail.body)]);
  if (sent.exitCode !== 0) throw new Error(`swaks could not send '${mail.subject}' (exit ${sent.exitCode}):\n${sent.transcript}`);
  const received: string[] = [];
  for (const reader of mail.readers) received.push(await waitForSubject(servers.imap, reader, mail.subject, { folder: mail.folder }));
  return { sent, received };
}

/** Log in and run one IMAP command; returns its untagged and tagged answer. */
export async function imapCommand(host: string, user: string, password: string, command: string): Promise<string> {
  const imap = await ImapConnection.open(host, 993);
  try {
    await imap.command(`LOGIN ${quote(user)} ${quote(password)}`);
    return await imap.command(command);
  } finally {
    imap.close();
  }
}

/** Messages of one mailbox folder (e.g. Junk), read over IMAPS. */
export async function readFolder(host: string, user: string, password: string, folder: string): Promise<string[]> {
  const imap = await ImapConnection.open(host, 993);
  try {
    await imap.command(`LOGIN ${quote(user)} ${quote(password)}`);
    const selected = await imap.command(`SELECT ${quote(folder)}`);
    if (Number(/\* (\d+) EXISTS/.exec(selected)?.[1] ?? "0") === 0) return [];
    return literals(await imap.command("FETCH 1:* (BODY.PEEK[])"));
  } finally {
    imap.close();
  }
}

/** The first line a plain TCP server says (e.g. a ManageSieve greeting), up to its OK line. */
export async function greeting(host: string, port: number, until = /^OK/m): Promise<string> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no greeting from ${host}:${port}; got ${text}`));
    }, 10_000);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (until.test(text)) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on("error", reject);
  });
}

/**
 * Log in to ManageSieve (4190) with AUTHENTICATE "PLAIN", after STARTTLS or (`starttls: false`) on the plain
 * connection; returns the server's answer to AUTHENTICATE (an OK, NO or BYE line).
 */
export async function manageSieveLogin(host: string, user: string, password: string, options: { starttls: boolean }): Promise<string> {
  const net = await import("node:net");
  let socket: import("node:net").Socket = net.connect({ host, port: 4190 });
  let text = "";
  const listen = (s: import("node:net").Socket) => s.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  const until = async (pattern: RegExp) => {
    const deadline = Date.now() + 15_000;
    while (!pattern.test(text)) {
      if (Date.now() > deadline) throw new Error(`ManageSieve: no answer matching ${pattern}; got ${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const answer = text;
    text = "";
    return answer;
  };
  await new Promise<void>((resolve, reject) => socket.once("connect", () => resolve()).once("error", reject));
  listen(socket);
  try {
    await until(/^OK.*\r\n/m);
    if (options.starttls) {
      socket.write("STARTTLS\r\n");
      await until(/^OK.*\r\n/m);
      socket.removeAllListeners("data");
      // The local certificate is self-signed: the scenarios check behaviour, not the chain of trust.
      const secure = tls.connect({ socket, rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => secure.once("secureConnect", () => resolve()).once("error", reject));
      socket = secure;
      listen(socket);
      await until(/^OK.*\r\n/m);
    }
    const credentials = Buffer.from(`\0${user}\0${password}`).toString("base64");
    socket.write(`AUTHENTICATE "PLAIN" "${credentials}"\r\n`);
    return (await until(/^(OK|NO|BYE).*\r\n/m)).trim();
  } finally {
    socket.destroy();
  }
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/** The `{n}\r\n<n bytes>` literals of a FETCH answer (bytes kept as latin1 characters). */
function literals(answer: string): string[] {
  const found: string[] = [];
  const pattern = /\{(\d+)\}\r\n/g;
  for (let match = pattern.exec(answer); match; match = pattern.exec(answer)) {
    const start = match.index + match[0].length;
    found.push(Buffer.from(answer.slice(start, start + Number(match[1])), "latin1").toString("utf8"));
    pattern.lastIndex = start + Number(match[1]);
  }
  return found;
}

/** Just enough IMAP: tagged commands, answers collected up to the tagged status line. */
class ImapConnection {
  private buffer = "";
  private tag = 0;
  private waiter: (() => void) | null = null;

  private constructor(private readonly socket: tls.TLSSocket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
  }

  static async open(host: string, port: number): Promise<ImapConnection> {
    // The local certificate is self-signed: the scenarios check behaviour, not the chain of trust.
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    const imap = new ImapConnection(socket);
    await imap.until(/^\* OK.*\r\n/m);
    imap.buffer = "";
    return imap;
  }

  async command(text: string): Promise<string> {
    const tag = `a${++this.tag}`;
    this.socket.write(`${tag} ${text}\r\n`);
    const answer = await this.until(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`));
    this.buffer = "";
    const status = new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)([^\\r]*)\\r\\n`).exec(answer);
    if (status?.[2] !== "OK") throw new Error(`IMAP ${text.split(" ")[0]} failed: ${status?.[2]}${status?.[3]}`);
    return answer;
  }

  private until(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`IMAP: no answer matching ${pattern}; got ${this.buffer.slice(-200)}`)), timeoutMs);
      const check = () => {
        if (pattern.test(this.buffer)) {
          clearTimeout(timer);
          this.waiter = null;
          resolve(this.buffer);
        }
      };
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.socket.end();
  }
}

/** Build the swaks client image used for "from another container" scenarios. */
export async function buildClientImage(): Promise<void> {
  await dockerOk(["build", "-q", "-t", CLIENT_IMAGE, path.join(__dirname, "../integration/mail/client")], { timeoutMs: 600_000 });
}

/**
 * A plain SMTP session (no TLS, no AUTH) for sending many messages fast from the test process, where
 * starting swaks per message would measure perl's start-up instead of the server.
 */
export class SmtpSession {
  private buffer = "";
  private waiter: (() => void) | null = null;

  private constructor(private readonly socket: import("node:net").Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
  }

  static async open(host: string, port = 25): Promise<SmtpSession> {
    const net = await import("node:net");
    const socket = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const session = new SmtpSession(socket);
    await session.reply(220);
    await session.send("EHLO bench.example.net", 250);
    return session;
  }

  /**
   * Send one message; resolves with the final reply (throws unless it is 250). `smtputf8`: ask for SMTPUTF8
   * (RFC 6531) in MAIL FROM, as a client does for UTF-8 addresses.
   */
  async mail(from: string, to: string, subject: string, options: { smtputf8?: boolean } = {}): Promise<string> {
    await this.send(`MAIL FROM:<${from}>${options.smtputf8 ? " SMTPUTF8" : ""}`, 250);
    await this.send(`RCPT TO:<${to}>`, 250);
    await this.send("DATA", 354);
    return this.send(`From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\n\r\nBenchmark message.\r\n.`, 250);
  }

  async close(): Promise<void> {
    await this.send("QUIT", 221).catch(() => undefined);
    this.socket.end();
  }

  private async send(line: string, expected: number): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply(expected);
  }

  /** Wait for a complete (possibly multi-line) reply and check its code. */
  private reply(expected: number, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SMTP: no reply; got ${this.buffer}`)), timeoutMs);
      const check = () => {
        const end = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buffer);
        if (!end) return;
        const text = this.buffer.slice(0, end.index + end[0].length);
        this.buffer = this.buffer.slice(text.length);
        clearTimeout(timer);
        this.waiter = null;
        if (Number(end[2]) === expected) resolve(text);
        else reject(new Error(`SMTP: expected ${expected}, got ${text.trim()}`));
      };
      this.waiter = check;
      check();
    });
  }
}
