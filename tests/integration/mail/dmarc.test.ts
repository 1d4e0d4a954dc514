import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import type { RunningStack } from "../../helpers/harness";
import { alice, bob, message, readFolder, seedPeople, sendAndRead, startMailStack, submissionAs, swaks } from "../../helpers/mail";

const OUTSIDER = "someone@example.net";

/**
 * The local stack with `dmarcPolicy: reject` (mail.test.ts runs the default, quarantine): a message from
 * outside whose header From forges our domain is refused at the end of DATA, never delivered.
 */
describe.runIf(dockerAvailable())("mail server with dmarcPolicy reject", () => {
  let stack: RunningStack;
  let mx: string;
  let imap: string;

  beforeAll(async () => {
    stack = await startMailStack({ dmarcPolicy: "reject" });
    mx = await stack.ip("mail-postfix");
    imap = await stack.ip("mail-dovecot");
    await seedPeople(stack, [alice, bob]);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("rejects mail from outside whose From forges our domain (5.7.1, DMARC), and delivers nothing", async () => {
    const title = `forged, policy reject ${Date.now()}`;
    const sent = await swaks(["--server", mx, ...message(OUTSIDER, bob.mail, title), "--header", `From: Alice <${alice.mail}>`]);
    expect(sent.transcript).toMatch(/<\*\* +5\d\d 5\.7\.1 .*DMARC policy of asso\.localhost rejects this message/);
    expect(sent.transcript).not.toMatch(/queued as/);
    for (const folder of ["INBOX", "Junk"]) {
      expect((await readFolder(imap, bob.mail, bob.password, folder)).some((m) => m.includes(title))).toBe(false);
    }
  });

  it("still delivers mail from outside with an outside From to the inbox", async () => {
    await sendAndRead({ mx, imap }, { from: OUTSIDER, to: bob.mail, subject: `outside from ${Date.now()}`, readers: [bob] });
  });

  it("still accepts our members' own mail on submission, From of our domain", async () => {
    const sent = await swaks(["--server", mx, ...submissionAs(alice), ...message(alice.mail, bob.mail, `member ${Date.now()}`)]);
    expect(sent.transcript).toMatch(/<~  250 2\.0\.0 Ok: queued/);
  });
});
