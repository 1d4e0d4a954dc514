import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, dockerOk } from "../../helpers/docker";
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
  manageSieveLogin,
  message,
  readInbox,
  seedPeople,
  sendAndRead,
  SmtpSession,
  startMailStack,
  submissionAs,
  swaks,
  waitForSubject,
  type Person,
  type RoundTrip,
} from "../../helpers/mail";
import { TLS12_SUITES } from "../../../platform/tls-policy";
import { run, testssl, tls12Ciphers, weakFindings } from "../../helpers/testssl";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dkimVerify } = require("mailauth/lib/dkim/verify") as {
  dkimVerify(
    message: Buffer,
    options: { resolver: (name: string, type: string) => Promise<string[][]> },
  ): Promise<{
    results: { status: { result: string }; signingDomain: string; selector: string }[];
  }>;
};

const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const OUTSIDER = "someone@example.net";
/** Members that only the sending-limit scenarios use: nothing else counts against their hour. */
const dave: Person = { uid: "dave", mail: `dave@${DOMAIN}`, password: "dave-Secret-1", aliases: [] };
const erin: Person = { uid: "erin", mail: `erin@${DOMAIN}`, password: "erin-Secret-1", aliases: [] };
/** Members whose Sieve scripts the vacation and redirect scenarios set. */
const fred: Person = { uid: "fred", mail: `fred@${DOMAIN}`, password: "fred-Secret-1", aliases: [] };
const gina: Person = { uid: "gina", mail: `gina@${DOMAIN}`, password: "gina-Secret-1", aliases: [] };
/** A member whose Sieve script redirects everything outside: only the Sieve sending-limit scenario uses him. */
const hank: Person = { uid: "hank", mail: `hank@${DOMAIN}`, password: "hank-Secret-1", aliases: [] };
/** A member away, whose vacation reply the DKIM scenario checks. */
const ivy: Person = { uid: "ivy", mail: `ivy@${DOMAIN}`, password: "ivy-Secret-1", aliases: [] };
/** A member whose mailbox the over-quota scenario fills. */
const jill: Person = { uid: "jill", mail: `jill@${DOMAIN}`, password: "jill-Secret-1", aliases: [] };
/** A mailbox quota a scenario fills in a second (every mailbox of this stack has it). */
const QUOTA = "1M";
/** The issue's example: with the limit set to 30 messages an hour, the 31st is deferred. */
const SENDING_LIMITS = { messagesPerHour: 30, recipientsPerHour: 90 };

/** The directory and the three mail daemons from the rendered local stack; people seeded as the admin. */
describe.runIf(dockerAvailable())("mail server", () => {
  let stack: RunningStack;
  let mx: string;
  let imap: string;
  /** Unique subjects, so that a scenario only ever finds its own message. */
  let counter = 0;
  const subject = (what: string) => `${what} #${++counter} ${Date.now()}`;
  const smtp = (...args: string[]) => swaks(["--server", mx, ...args]);
  /** The DKIM results of a received message, against the records the stack publishes. */
  const dkimResults = async (received: string) => {
    const records = stack.rendered.dns;
    const result = await dkimVerify(Buffer.from(received), {
      resolver: async (name, type) => {
        const found = records.filter((r) => r.name === name && r.type === type).map((r) => [r.value]);
        if (found.length === 0) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
        return found;
      },
    });
    return result.results.map((r) => [r.signingDomain, r.selector, r.status.result]);
  };
  /** Send with swaks to the current Postfix, read back from the current Dovecot (both move when re-created). */
  const roundTrip = (mail: RoundTrip) => sendAndRead({ mx, imap }, mail);

  beforeAll(async () => {
    await buildClientImage();
    // The local stack, with sending limits a scenario reaches in seconds.
    stack = await startMailStack({ sendingLimits: SENDING_LIMITS, quota: QUOTA });
    mx = await stack.ip("mail-postfix");
    imap = await stack.ip("mail-dovecot");
    // alice owns contact@ (alias); alice and bob are in the tech group; carol is not.
    await seedPeople(stack, [alice, bob, carol, dave, erin, fred, gina, hank, ivy, jill], [alice, bob]);
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
      const sent = await smtp(
        "--port",
        "587",
        "--auth",
        "PLAIN",
        "--auth-user",
        alice.mail,
        "--auth-password",
        alice.password,
        ...message(alice.mail, bob.mail, subject("auth without tls")),
      );
      expect(sent.transcript).not.toMatch(/250-AUTH/);
      expect(sent.transcript).toMatch(/Host did not advertise authentication/);
      expect(sent.transcript).not.toMatch(/ 235 /);
    });

    it("refuses any AUTH on port 25, even after STARTTLS", async () => {
      const sent = await smtp(
        "--port",
        "25",
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        alice.mail,
        "--auth-password",
        alice.password,
        ...message(alice.mail, bob.mail, subject("auth on 25")),
      );
      expect(sent.transcript).toMatch(/<~  220 2\.0\.0 Ready to start TLS|TLS started/);
      expect(sent.transcript).not.toMatch(/250-AUTH/);
      expect(sent.transcript).not.toMatch(/ 235 /);
    });

    it("refuses a wrong password", async () => {
      const sent = await smtp(
        ...submissionAs({ mail: alice.mail, password: "not-her-password" }),
        ...message(alice.mail, bob.mail, subject("wrong password")),
      );
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
      expect(sent.transcript).toMatch(
        /<~\* +553 5\.7\.1 <bob@asso\.localhost>: Sender address rejected: not owned by user alice@asso\.localhost/,
      );
    });

    it("accepts an authenticated user sending as their own alias", async () => {
      const { sent } = await roundTrip({
        via: submissionAs(alice),
        from: `contact@${DOMAIN}`,
        to: carol.mail,
        subject: subject("from my alias"),
        readers: [carol],
      });
      expect(sent.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
    });

    it("lets a member of a group send as the group's address (tech@), and refuses it to a non-member", async () => {
      const { sent } = await roundTrip({
        via: submissionAs(alice),
        from: `tech@${DOMAIN}`,
        to: carol.mail,
        subject: subject("as the tech group"),
        readers: [carol],
      });
      expect(sent.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
      const refused = await smtp(...submissionAs(carol), ...message(`tech@${DOMAIN}`, bob.mail, subject("tech from a non-member")));
      expect(refused.transcript).toMatch(
        /<~\* +553 5\.7\.1 <tech@asso\.localhost>: Sender address rejected: not owned by user carol@asso\.localhost/,
      );
    });

    it("lets the Mattermost service account send as mattermost@ and nothing else", async () => {
      const mattermost = { mail: `mattermost@${DOMAIN}`, password: stack.spec("ldap").secrets.LDAP_SERVICE_PASSWORD_MATTERMOST };
      const own = await smtp(...submissionAs(mattermost), ...message(mattermost.mail, bob.mail, subject("notification")));
      expect(own.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
      const other = await smtp(...submissionAs(mattermost), ...message(alice.mail, bob.mail, subject("notification as alice")));
      expect(other.transcript).toMatch(/<~\* +553 5\.7\.1 <alice@asso\.localhost>: Sender address rejected: not owned by user/);
    });
  });

  describe("header From", () => {
    it("refuses an authenticated member whose header From is an address of ours they do not own, with a 5xx that says why", async () => {
      const title = subject("forged header from");
      const sent = await smtp(
        ...submissionAs(alice),
        ...message(alice.mail, carol.mail, title),
        "--header",
        `From: Treasurer <${bob.mail}>`,
      );
      expect(sent.transcript).toMatch(/<~\* +5\d\d 5\.7\.1 .*header From <bob@asso\.localhost> is not owned by user alice@asso\.localhost/);
      expect(sent.transcript).not.toMatch(/queued as/);
    });

    it("refuses an authenticated member whose header From is outside our domains", async () => {
      const sent = await smtp(
        ...submissionAs(alice),
        ...message(alice.mail, carol.mail, subject("outside header from")),
        "--header",
        "From: <billing@bank.example>",
      );
      expect(sent.transcript).toMatch(
        /<~\* +5\d\d 5\.7\.1 .*header From <billing@bank\.example> is not owned by user alice@asso\.localhost/,
      );
    });

    it("accepts a member's own alias as header From, and signs it with DKIM", async () => {
      const {
        received: [received],
      } = await roundTrip({
        via: submissionAs(alice),
        from: `contact@${DOMAIN}`,
        to: carol.mail,
        subject: subject("alias in header from"),
        readers: [carol],
      });
      expect(received).toMatch(/^From: .*contact@asso\.localhost/m);
      expect(received).toMatch(/^DKIM-Signature: .*d=asso\.localhost/m);
    });

    it("quarantines mail from outside whose From forges our domain (DMARC policy quarantine): Junk, not the inbox", async () => {
      const title = subject("forged our domain from outside");
      const sent = await smtp(...message(OUTSIDER, bob.mail, title), "--header", `From: Alice <${alice.mail}>`);
      expect(sent.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
      const quarantined = await waitForSubject(imap, bob, title, { folder: "Junk" });
      expect(quarantined).toMatch(/^X-Spam: Yes/m);
      expect((await readInbox(imap, bob.mail, bob.password)).some((m) => m.includes(title))).toBe(false);
    });
  });

  describe("sending limits", () => {
    it("defers the 31st message in an hour from one login (limit 30) with a 4xx, and logs it", async () => {
      for (let n = 1; n <= SENDING_LIMITS.messagesPerHour; n++) {
        const sent = await smtp(...submissionAs(dave), ...message(dave.mail, carol.mail, subject(`limit ${n}`)));
        expect(sent.transcript, `message ${n}`).toMatch(/<~  250 2\.0\.0 Ok: queued/);
      }
      const over = await smtp(...submissionAs(dave), ...message(dave.mail, carol.mail, subject("limit over")));
      expect(over.transcript).toMatch(
        /<~\* +451 4\.7\.1 .*sending limit: dave@asso\.localhost sent 30 messages in the last hour \(limit 30\)/,
      );
      expect(over.transcript).not.toMatch(/queued as/);
      // The line monitoring alerts on.
      const log = await dockerOk(["logs", `${stack.prefix}mail-postfix`]);
      expect(log).toMatch(/reject: END-OF-MESSAGE .*451 4\.7\.1 .*sending limit: dave@asso\.localhost sent 30 messages/);
      // Another login is not affected.
      const other = await smtp(...submissionAs(carol), ...message(carol.mail, bob.mail, subject("limit other user")));
      expect(other.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
    });

    it("counts a member's Sieve redirects to an outside address against their sending limit (limit 30): the 31st is deferred and logged", async () => {
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", hank.mail, "-a", "away"], {
        input: 'redirect "hank.elsewhere@example.org";\n',
      });
      expect(put.exitCode, put.stderr).toBe(0);
      for (let n = 1; n <= SENDING_LIMITS.messagesPerHour + 1; n++) {
        const sent = await smtp(...message(OUTSIDER, hank.mail, subject(`redirected outside ${n}`)));
        expect(sent.transcript, `message ${n}`).toMatch(/<-  250 2\.0\.0 Ok: queued/);
      }
      // Deferred where Dovecot hands the redirect over (the Sieve listener), logged as monitoring expects.
      const over =
        /postfix\/sieve\/smtpd\[\d+\]: .*reject: END-OF-MESSAGE .*451 4\.7\.1 .*sending limit: hank@asso\.localhost sent 30 messages/;
      const deadline = Date.now() + 60_000;
      let log = "";
      while (!over.test(log) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        log = await dockerOk(["logs", `${stack.prefix}mail-postfix`]);
      }
      expect(log).toMatch(over);
      // The 30 that left are counted against hank, the member whose script sent them.
      const counted = await stack.exec("mail-postfix", ["cat", "/var/lib/sending-limits/hank@asso.localhost"]);
      expect(counted.stdout.trim().split("\n")).toHaveLength(SENDING_LIMITS.messagesPerHour);
    });

    it("defers a message that takes one login over its recipients an hour (limit 90)", async () => {
      const recipients = Array.from({ length: SENDING_LIMITS.recipientsPerHour + 1 }, (_, i) => `list${i}@example.org`).join(",");
      const over = await smtp(...submissionAs(erin), ...message(erin.mail, recipients, subject("too many recipients")));
      expect(over.transcript).toMatch(
        /<~\* +451 4\.7\.1 .*sending limit: erin@asso\.localhost wrote to 0 recipients in the last hour \(limit 90\)/,
      );
      const within = await smtp(...submissionAs(erin), ...message(erin.mail, bob.mail, subject("one recipient")));
      expect(within.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
    });
  });

  describe("TLS", () => {
    /** The policy's TLS 1.2 suites for the mail certificate, an RSA key (dovecot/entrypoint.sh). */
    const policySuites = TLS12_SUITES.filter((suite) => suite.certificate === "RSA")
      .map((suite) => suite.iana)
      .sort();

    it("passes testssl.sh on 25, 465 and 587: TLS 1.2 and 1.3 only, no CBC nor SHA-1 cipher", async () => {
      // The three ports at once: testssl.sh spends its time waiting for handshakes.
      const scans = await Promise.all(
        (
          [
            [25, "smtp"],
            [465, undefined],
            [587, "smtp"],
          ] as const
        ).map(async ([port, starttls]) => ({ port, ...(await testssl(mx, port, starttls)) })),
      );
      for (const { port, output, findings } of scans) {
        expect(
          findings.some((f) => f.id === "TLS1_2" && /offered/.test(f.finding)),
          `${port}: ${output}`,
        ).toBe(true);
        expect(
          findings.some((f) => /^cipher-tls1_2_x/.test(f.id)),
          `${port}: no TLS 1.2 cipher listed\n${output}`,
        ).toBe(true);
        expect(weakFindings(findings), `port ${port}`).toEqual([]);
        expect(tls12Ciphers(findings), `port ${port}`).toEqual(policySuites);
      }
    }, 600_000);

    it("passes testssl.sh on IMAPS (993), and ManageSieve (4190) after STARTTLS refuses CBC and TLS 1.1", async () => {
      const { output, findings } = await testssl(imap, 993);
      expect(
        findings.some((f) => /^cipher-tls1_2_x/.test(f.id)),
        output,
      ).toBe(true);
      expect(weakFindings(findings)).toEqual([]);
      expect(tls12Ciphers(findings)).toEqual(policySuites);
      // testssl.sh 3.0 has no ManageSieve STARTTLS: openssl s_client does, with the same settings as IMAPS.
      const sieve = (...args: string[]) => run("openssl", ["s_client", "-connect", `${imap}:4190`, "-starttls", "sieve", ...args], 30_000);
      expect((await sieve("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")).output).toMatch(/Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
      // Refused: the handshake fails, no cipher is agreed.
      expect((await sieve("-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA")).output).toMatch(/Cipher is \(NONE\)/);
      expect((await sieve("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")).output).toMatch(/Cipher is \(NONE\)/);
    }, 600_000);
  });

  describe("networks", () => {
    it("keeps rspamd, which parses untrusted mail, away from Dovecot's LMTP and SASL ports", async () => {
      const dovecotMailIp = (
        await dockerOk([
          "inspect",
          "-f",
          `{{(index .NetworkSettings.Networks "${stack.prefix}mail").IPAddress}}`,
          `${stack.prefix}mail-dovecot`,
        ])
      ).trim();
      expect(dovecotMailIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const probe = (host: string, port: number) =>
        stack.exec("mail-rspamd", [
          "bash",
          "-c",
          `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null && echo open || echo closed`,
        ]);
      for (const port of [24, 12345]) {
        expect((await probe(dovecotMailIp, port)).stdout.trim(), `rspamd -> ${dovecotMailIp}:${port}`).toBe("closed");
        expect((await probe("mail-dovecot-internal", port)).stdout.trim()).toBe("closed");
      }
      // Postfix, on the mail network, still reaches them (the probe is not simply broken).
      const fromPostfix = await stack.exec("mail-postfix", [
        "bash",
        "-c",
        `timeout 5 bash -c 'exec 3<>/dev/tcp/${dovecotMailIp}/24' && echo open || echo closed`,
      ]);
      expect(fromPostfix.stdout.trim()).toBe("open");
    });
  });

  describe("filtering and signing", () => {
    it("signs outgoing mail with DKIM, and the signature verifies against the published record", async () => {
      const {
        received: [received],
      } = await roundTrip({ via: submissionAs(alice), from: alice.mail, to: bob.mail, subject: subject("signed"), readers: [bob] });
      expect(received).toMatch(/^DKIM-Signature: .*d=asso\.localhost/m);
      expect(await dkimResults(received)).toEqual([["asso.localhost", "mail", "pass"]]);
    });

    it("rejects the GTUBE test message", async () => {
      const sent = await smtp(...message(OUTSIDER, bob.mail, subject("gtube"), `This is spam.\n${GTUBE}\n`));
      expect(sent.transcript).toMatch(/<\*\* +554 5\.7\.1/);
      expect(sent.transcript).not.toMatch(/queued as/);
    });
  });

  describe("mailboxes", () => {
    it("gives each mailbox the configured quota, reported over IMAP", async () => {
      const answer = await imapCommand(imap, bob.mail, bob.password, "GETQUOTAROOT INBOX");
      // 1M = 1024 KiB (the quota setting of this stack).
      expect(answer).toMatch(/\* QUOTA "User quota" \(STORAGE \d+ 1024\)/);
    });

    it("defers mail to a mailbox over its quota (queued with Dovecot's reason, neither bounced nor dropped) and delivers it once there is room", async () => {
      // ~1.1 MB, past the 1M quota: saved with the quota plugin off (it would refuse it), counted by it afterwards.
      const filler = `From: <${OUTSIDER}>\nTo: <${jill.mail}>\nSubject: filler\n\n${`${"x".repeat(76)}\n`.repeat(14_000)}`;
      const save = await stack.exec("mail-dovecot", ["doveadm", "-o", "mail_plugins=", "save", "-u", jill.mail], { input: filler });
      expect(save.exitCode, save.stderr).toBe(0);
      const quota = await stack.exec("mail-dovecot", ["doveadm", "-f", "tab", "quota", "get", "-u", jill.mail]);
      expect(Number(/^User quota\tSTORAGE\t\d+\t\d+\t(\d+)/m.exec(quota.stdout)?.[1]), quota.stdout).toBeGreaterThanOrEqual(100);

      const title = subject("over quota");
      const sent = await smtp(...message(OUTSIDER, jill.mail, title));
      expect(sent.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
      // Postfix tried, Dovecot said the mailbox is full (5.2.2), and the message waits in the queue for a retry.
      const deadline = Date.now() + 30_000;
      let reason = "";
      while (!/5\.2\.2/.test(reason) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        reason = (await stack.exec("mail-postfix", ["postqueue", "-j"])).stdout
          .split("\n")
          .filter((line) => line.includes(jill.mail))
          .join("\n");
      }
      expect(reason).toMatch(/"queue_name": ?"deferred"/);
      expect(reason).toMatch(/"delay_reason": ?"[^"]*5\.2\.2[^"]*quota/i);
      expect((await readInbox(imap, jill.mail, jill.password)).some((m) => m.includes(title))).toBe(false);

      // Room made (the member deletes mail); the next retry delivers it (flushed here rather than waited for).
      const expunge = await stack.exec("mail-dovecot", [
        "doveadm",
        "expunge",
        "-u",
        jill.mail,
        "mailbox",
        "INBOX",
        "header",
        "Subject",
        "filler",
      ]);
      expect(expunge.exitCode, expunge.stderr).toBe(0);
      await stack.exec("mail-postfix", ["postqueue", "-f"]);
      await waitForSubject(imap, jill, title);
    });

    it("refuses a UTF-8 address at SMTP time (no SMTPUTF8: Dovecot's LMTP could not deliver it), and still takes ASCII mail", async () => {
      const session = await SmtpSession.open(mx, 25);
      try {
        await expect(session.mail("josé@exemple.net", bob.mail, subject("from josé"), { smtputf8: true })).rejects.toThrow(
          /expected 250, got 5\d\d 5\.5\.\d/,
        );
        // Control: the same connection still delivers ASCII mail, so the refusal is about the UTF-8 request.
        expect(await session.mail(OUTSIDER, bob.mail, subject("ascii after utf-8"))).toMatch(/^250 2\.0\.0 Ok: queued/m);
        await expect(session.mail(OUTSIDER, `zoë@${DOMAIN}`, subject("to zoë"))).rejects.toThrow(/expected 250, got 5\d\d/);
      } finally {
        await session.close();
      }
      // Nothing with a UTF-8 address waits in the queue.
      expect((await stack.exec("mail-postfix", ["postqueue", "-j"])).stdout).not.toMatch(/josé|zoë/);
    });

    it("runs the user's Sieve script at delivery (here: filing into a folder)", async () => {
      const script = 'require "fileinto";\nif header :contains "subject" "[sieve]" { fileinto "Junk"; stop; }\n';
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", bob.mail, "-a", "filters"], { input: script });
      expect(put.exitCode, put.stderr).toBe(0);
      const title = subject("[sieve] filed");
      await roundTrip({ from: OUTSIDER, to: bob.mail, subject: title, readers: [bob], folder: "Junk" });
      expect((await readInbox(imap, bob.mail, bob.password)).some((m) => m.includes(title))).toBe(false);
    });

    it("refuses a wrong password on IMAPS and on ManageSieve, and has no plaintext IMAP port", async () => {
      await expect(imapCommand(imap, bob.mail, "not-his-password", "NOOP")).rejects.toThrow(/IMAP LOGIN failed: NO/);
      expect(await manageSieveLogin(imap, bob.mail, "not-his-password", { starttls: true })).toMatch(/^NO/);
      // Control: the right password gets in, so the refusals above are about the password.
      expect(await manageSieveLogin(imap, bob.mail, bob.password, { starttls: true })).toMatch(/^OK/);
      const net = await import("node:net");
      const plain = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: imap, port: 143 }, () => (socket.destroy(), resolve("open")));
        socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      });
      expect(plain).toBe("ECONNREFUSED");
    });

    it("refuses a ManageSieve login before STARTTLS, even with the right password", async () => {
      expect(await manageSieveLogin(imap, bob.mail, bob.password, { starttls: false })).toMatch(/^NO .*(TLS|secure)/i);
    });

    it("sends a member's Sieve vacation reply, which the sender receives", async () => {
      const away = `Away until Monday ${Date.now()}`;
      const script = `require "vacation";\nvacation :days 1 :subject "${away}" "I read my mail on Monday.";\n`;
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", fred.mail, "-a", "vacation"], { input: script });
      expect(put.exitCode, put.stderr).toBe(0);
      await roundTrip({ via: submissionAs(alice), from: alice.mail, to: fred.mail, subject: subject("to fred, away"), readers: [fred] });
      const reply = await waitForSubject(imap, alice, away);
      expect(reply).toMatch(/^From: .*fred@asso\.localhost/m);
      expect(reply).toMatch(/^Auto-Submitted: auto-replied/m);
    });

    it("signs a member's Sieve vacation reply with DKIM, and the signature verifies against the published record", async () => {
      const away = `Ivy is away ${Date.now()}`;
      const script = `require "vacation";\nvacation :days 1 :subject "${away}" "Back next week.";\n`;
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", ivy.mail, "-a", "vacation"], { input: script });
      expect(put.exitCode, put.stderr).toBe(0);
      await roundTrip({ via: submissionAs(alice), from: alice.mail, to: ivy.mail, subject: subject("to ivy, away"), readers: [ivy] });
      const reply = await waitForSubject(imap, alice, away);
      expect(reply).toMatch(/^From: .*ivy@asso\.localhost/m);
      expect(await dkimResults(reply)).toEqual([["asso.localhost", "mail", "pass"]]);
    });

    it("carries out a member's Sieve redirect: the copy arrives at the other address", async () => {
      const put = await stack.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", gina.mail, "-a", "redirect"], {
        input: `redirect "${bob.mail}";\n`,
      });
      expect(put.exitCode, put.stderr).toBe(0);
      const title = subject("redirected by gina");
      const sent = await smtp(...message(OUTSIDER, gina.mail, title));
      expect(sent.transcript).toMatch(/<-  250 2\.0\.0 Ok: queued/);
      await waitForSubject(imap, bob, title);
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
