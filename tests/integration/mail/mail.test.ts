import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import type { RunningStack } from "../../helpers/harness";
import {
  alice,
  bob,
  buildClientImage,
  carol,
  CLIENT_IMAGE,
  DOMAIN,
  greeting,
  imapCommand,
  message,
  readInbox,
  seedPeople,
  sendAndRead,
  startMailStack,
  submissionAs,
  swaks,
  waitForSubject,
  type RoundTrip,
} from "../../helpers/mail";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dkimVerify } = require("mailauth/lib/dkim/verify") as {
  dkimVerify(message: Buffer, options: { resolver: (name: string, type: string) => Promise<string[][]> }): Promise<{
    results: { status: { result: string }; signingDomain: string; selector: string }[];
  }>;
};

const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const OUTSIDER = "someone@example.net";

/** The directory and the three mail daemons from the rendered local stack; people seeded as the admin. */
describe.runIf(dockerAvailable())("mail server", () => {
  let stack: RunningStack;
  let mx: string;
  let imap: string;
  /** Unique subjects, so that a scenario only ever finds its own message. */
  let counter = 0;
  const subject = (what: string) => `${what} #${++counter} ${Date.now()}`;
  const smtp = (...args: string[]) => swaks(["--server", mx, ...args]);
  /** Send with swaks to the current Postfix, read back from the current Dovecot (both move when re-created). */
  const roundTrip = (mail: RoundTrip) => sendAndRead({ mx, imap }, mail);

  beforeAll(async () => {
    await buildClientImage();
    stack = await startMailStack();
    mx = await stack.ip("mail-postfix");
    imap = await stack.ip("mail-dovecot");
    // alice owns contact@ (alias); alice and bob are in the tech group; carol is not.
    await seedPeople(stack, [alice, bob, carol], [alice, bob]);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  describe("delivery", () => {
    it("delivers to a user, who reads it over IMAPS", async () => {
      const { sent } = await roundTrip({ from: OUTSIDER, to: bob.mail, subject: subject("to a user"), readers: [bob] });
      expect(sent.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
    });

    it("delivers to an alias into its owner's mailbox", async () => {
      await roundTrip({ from: OUTSIDER, to: `contact@${DOMAIN}`, subject: subject("to an alias"), readers: [alice] });
    });

    it("delivers to a group address to each member of the group, and only to them", async () => {
      const title = subject("to the tech group");
      await roundTrip({ from: OUTSIDER, to: `tech@${DOMAIN}`, subject: title, readers: [alice, bob] });
      expect((await readInbox(imap, carol.mail, carol.password)).some((m) => m.includes(title))).toBe(false);
    });
  });

  describe("refusals", () => {
    it("rejects an unknown recipient at RCPT time", async () => {
      const sent = await smtp(...message(OUTSIDER, `nobody@${DOMAIN}`, subject("unknown")));
      expect(sent.transcript).toMatch(/<\*\* +550 5\.1\.1 <nobody@asso\.localhost>: Recipient address rejected/);
      expect(sent.transcript).not.toMatch(/354 End data/);
    });

    it("refuses to relay for an unauthenticated client", async () => {
      const sent = await smtp(...message(OUTSIDER, "victim@example.org", subject("relay")));
      expect(sent.transcript).toMatch(/<\*\* +554 5\.7\.1 <victim@example\.org>: Relay access denied/);
    });

    it("refuses to relay for an unauthenticated client in another container on the submission network", async () => {
      const run = await stack.runOnNetwork("mail-submission", CLIENT_IMAGE, [
        "--server",
        `mail.${DOMAIN}`,
        ...message(OUTSIDER, "victim@example.org", subject("relay from a container")),
      ]);
      expect(run.stdout + run.stderr).toMatch(/<\*\* +554 5\.7\.1 <victim@example\.org>: Relay access denied/);
    });

    it("refuses LMTP delivery from the directory network, which the web apps share", async () => {
      const run = await stack.runOnNetwork("directory", CLIENT_IMAGE, [
        "--server",
        "mail-dovecot",
        "--port",
        "24",
        "--protocol",
        "LMTP",
        ...message(OUTSIDER, bob.mail, subject("lmtp from a web app")),
      ]);
      expect(run.stdout + run.stderr).toMatch(/Connection refused/);
      expect(run.stdout + run.stderr).not.toMatch(/Saved/);
    });

    it("refuses AUTH before STARTTLS on submission (587)", async () => {
      const sent = await smtp("--port", "587", "--auth", "PLAIN", "--auth-user", alice.mail, "--auth-password", alice.password, ...message(alice.mail, bob.mail, subject("auth without tls")));
      expect(sent.transcript).not.toMatch(/250-AUTH/);
      expect(sent.transcript).toMatch(/Host did not advertise authentication/);
      expect(sent.transcript).not.toMatch(/ 235 /);
    });

    it("refuses any AUTH on port 25, even after STARTTLS", async () => {
      const sent = await smtp("--port", "25", "--tls", "--auth", "PLAIN", "--auth-user", alice.mail, "--auth-password", alice.password, ...message(alice.mail, bob.mail, subject("auth on 25")));
      expect(sent.transcript).toMatch(/<~  220 2\.0\.0 Ready to start TLS|TLS started/);
      expect(sent.transcript).not.toMatch(/250-AUTH/);
      expect(sent.transcript).not.toMatch(/ 235 /);
    });

    it("refuses a wrong password", async () => {
      const sent = await smtp(...submissionAs({ mail: alice.mail, password: "not-her-password" }), ...message(alice.mail, bob.mail, subject("wrong password")));
      expect(sent.transcript).toMatch(/<~\* +535 5\.7\.8 Error: authentication failed/);
    });

    it("refuses an unauthenticated client using one of our addresses as sender on port 25", async () => {
      const sent = await smtp(...message(alice.mail, bob.mail, subject("spoofed sender")));
      expect(sent.transcript).toMatch(/<\*\* +554 5\.7\.1 <alice@asso\.localhost>: Sender address rejected/);
    });
  });

  describe("submission", () => {
    it("accepts an authenticated user on 465 with implicit TLS", async () => {
      const { sent } = await roundTrip({
        via: ["--port", "465", "--tls-on-connect", "--auth", "PLAIN", "--auth-user", alice.mail, "--auth-password", alice.password],
        from: alice.mail,
        to: carol.mail,
        subject: subject("over 465"),
        readers: [carol],
      });
      expect(sent.transcript).toMatch(/<~  235 2\.7\.0 Authentication successful/);
    });
  });

  describe("sender ownership", () => {
    it("refuses an authenticated user sending as someone else", async () => {
      const sent = await smtp(...submissionAs(alice), ...message(bob.mail, carol.mail, subject("as bob")));
      expect(sent.transcript).toMatch(/<~\* +553 5\.7\.1 <bob@asso\.localhost>: Sender address rejected: not owned by user alice@asso\.localhost/);
    });

    it("accepts an authenticated user sending as their own alias", async () => {
      const { sent } = await roundTrip({ via: submissionAs(alice), from: `contact@${DOMAIN}`, to: carol.mail, subject: subject("from my alias"), readers: [carol] });
      expect(sent.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
    });

    it("lets the Mattermost service account send as mattermost@ and nothing else", async () => {
      const mattermost = { mail: `mattermost@${DOMAIN}`, password: stack.spec("ldap").env.LDAP_SERVICE_PASSWORD_MATTERMOST };
      const own = await smtp(...submissionAs(mattermost), ...message(mattermost.mail, bob.mail, subject("notification")));
      expect(own.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
      const other = await smtp(...submissionAs(mattermost), ...message(alice.mail, bob.mail, subject("notification as alice")));
      expect(other.transcript).toMatch(/<~\* +553 5\.7\.1 <alice@asso\.localhost>: Sender address rejected: not owned by user/);
    });
  });

  describe("filtering and signing", () => {
    it("signs outgoing mail with DKIM, and the signature verifies against the published record", async () => {
      const {
        received: [received],
      } = await roundTrip({ via: submissionAs(alice), from: alice.mail, to: bob.mail, subject: subject("signed"), readers: [bob] });
      expect(received).toMatch(/^DKIM-Signature: .*d=asso\.localhost/m);
      const records = stack.rendered.dns;
      const result = await dkimVerify(Buffer.from(received), {
        resolver: async (name, type) => {
          const found = records.filter((r) => r.name === name && r.type === type).map((r) => [r.value]);
          if (found.length === 0) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
          return found;
        },
      });
      expect(result.results.map((r) => [r.signingDomain, r.selector, r.status.result])).toEqual([["asso.localhost", "mail", "pass"]]);
    });

    it("rejects the GTUBE test message", async () => {
      const sent = await smtp(...message(OUTSIDER, bob.mail, subject("gtube"), `This is spam.\n${GTUBE}\n`));
      expect(sent.transcript).toMatch(/<\*\* +554 5\.7\.1/);
      expect(sent.transcript).not.toMatch(/queued as/);
    });
  });

  describe("mailboxes", () => {
    it("gives each mailbox the default quota, reported over IMAP", async () => {
      const answer = await imapCommand(imap, bob.mail, bob.password, "GETQUOTAROOT INBOX");
      // 2G = 2097152 KiB (the quota setting's default).
      expect(answer).toMatch(/\* QUOTA "User quota" \(STORAGE \d+ 2097152\)/);
    });

    it("runs the user's Sieve script at delivery (here: filing into a folder)", async () => {
      const script = 'require "fileinto";\nif header :contains "subject" "[sieve]" { fileinto "Junk"; stop; }\n';
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", bob.mail, "-a", "filters"], { input: script });
      expect(put.exitCode, put.stderr).toBe(0);
      const title = subject("[sieve] filed");
      await roundTrip({ from: OUTSIDER, to: bob.mail, subject: title, readers: [bob], folder: "Junk" });
      expect((await readInbox(imap, bob.mail, bob.password)).some((m) => m.includes(title))).toBe(false);
    });

    it("offers ManageSieve on 4190, with login only after STARTTLS", async () => {
      const hello = await greeting(imap, 4190);
      expect(hello).toMatch(/^"STARTTLS"/m);
      expect(hello).toMatch(/^"SASL" ""/m);
    });
  });

  describe("resilience", () => {
    it("defers incoming mail (4xx, not a bounce) while the directory is down, and delivers it once it is back", async () => {
      const title = subject("directory down");
      await stack.stop("ldap");
      try {
        const deferred = await smtp(...message(OUTSIDER, bob.mail, title));
        expect(deferred.transcript).toMatch(/<\*\* +4\d\d 4\.\d\.\d/);
        expect(deferred.transcript).not.toMatch(/<\*\* +5\d\d/);
      } finally {
        await stack.start("ldap");
        await stack.waitHealthy("ldap");
      }
      // The sending server keeps the message and tries again: now it is accepted and delivered once.
      const { sent: retried } = await roundTrip({ from: OUTSIDER, to: bob.mail, subject: title, readers: [bob] });
      expect(retried.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
      expect((await readInbox(imap, bob.mail, bob.password)).filter((m) => m.includes(title))).toHaveLength(1);
    });

    it("keeps an accepted message queued while Dovecot is down, across a re-created Postfix, and delivers it after", async () => {
      const title = subject("queued");
      await stack.stop("mail-dovecot");
      try {
        const sent = await smtp(...message(OUTSIDER, bob.mail, title));
        expect(sent.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
        await stack.recreate("mail-postfix");
        mx = await stack.ip("mail-postfix");
        const queue = await stack.exec("mail-postfix", ["postqueue", "-p"]);
        expect(queue.stdout).toMatch(/bob@asso\.localhost/);
      } finally {
        await stack.start("mail-dovecot");
        await stack.waitHealthy("mail-dovecot");
      }
      imap = await stack.ip("mail-dovecot");
      // Postfix would retry on its own within minutes; flush so that the scenario does not wait.
      await stack.exec("mail-postfix", ["postqueue", "-f"]);
      await waitForSubject(imap, bob, title);
      expect((await readInbox(imap, bob.mail, bob.password)).filter((m) => m.includes(title))).toHaveLength(1);
    });

    it("keeps the mailboxes when the containers are re-created on the same volumes", async () => {
      const title = subject("before re-creation");
      await roundTrip({ from: OUTSIDER, to: bob.mail, subject: title, readers: [bob] });
      const before = (await readInbox(imap, bob.mail, bob.password)).length;

      for (const name of ["mail-rspamd", "mail-dovecot", "mail-postfix"]) await stack.recreate(name);
      mx = await stack.ip("mail-postfix");
      imap = await stack.ip("mail-dovecot");

      const after = await readInbox(imap, bob.mail, bob.password);
      expect(after).toHaveLength(before);
      expect(after.some((m) => m.includes(title))).toBe(true);
    });
  });
});
