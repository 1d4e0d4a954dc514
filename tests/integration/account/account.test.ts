import * as fs from "node:fs";
import * as path from "node:path";
import { Attribute, Change } from "ldapts";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firewallPorts } from "../../../hosts/render";
import { baseDnOf } from "../../../platform/directory";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { startTestHost } from "../../helpers/hosts";
import { addPerson, openDirectory, runMembersCli, type DirectorySession } from "../../helpers/ldap";
import { imapCommand, MAIL_STACK } from "../../helpers/mail";

/** Screenshots of each page the member sees, kept as test artifacts (gitignored). */
const ARTIFACTS = path.resolve(__dirname, "../../../test-artifacts/account");

/** Debian's Chromium, never a downloaded browser (.ci/run installs it; the preflight checks it). */
const CHROMIUM = {
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
};

/** What a mail from the page says, decoded (nodemailer sends quoted-printable), read in Dovecot's store. */
async function mailsTo(stack: RunningStack, address: string): Promise<string[]> {
  const fetched = await stack.exec("mail-dovecot", ["doveadm", "fetch", "-u", address, "text", "mailbox", "INBOX", "ALL"]);
  if (fetched.exitCode !== 0) return [];
  return fetched.stdout
    .split(/^text:$/m)
    .slice(1)
    .map((text) => text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
}

/** Wait for the page's mail with a link of this kind, and return the link's path (the page is reached by address). */
async function linkFromMail(stack: RunningStack, address: string, kind: "invitation" | "reset", seen: Set<string>): Promise<string> {
  const pattern = new RegExp(`https://account\\.asso\\.localhost(/${kind}/[A-Za-z0-9_-]{43})`);
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    for (const text of await mailsTo(stack, address)) {
      const link = pattern.exec(text)?.[1];
      if (link && !seen.has(link)) {
        seen.add(link);
        return link;
      }
    }
  }
  throw new Error(`no ${kind} mail for ${address} after 60 s`);
}

async function imapLogin(host: string, user: string, password: string): Promise<"accepted" | "refused"> {
  try {
    await imapCommand(host, user, password, "NOOP");
    return "accepted";
  } catch {
    return "refused";
  }
}

describe.runIf(dockerAvailable())("account page", () => {
  let stack: RunningStack;
  let directory: DirectorySession;
  let browser: Browser;
  let page: Page;
  let base: string;
  let imap: string;
  const seen = new Set<string>();
  const jeanne = { uid: "jeanne", mail: "jeanne@asso.localhost" };
  const passwords = { first: "first horse battery staple", second: "second horse battery staple", third: "third horse battery staple" };

  const members = (...args: string[]) => runMembersCli(directory, args, { ACCOUNT_URL: base });
  const notice = () => page.locator("#notice").innerText();
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** Log in from a new browser context (no session left by an earlier scenario). */
  async function logIn(password: string): Promise<void> {
    await page.close();
    page = await browser.newPage({ locale: "en-GB" });
    await page.goto(`${base}/`);
    await submit({ uid: jeanne.uid, password }, "Log in");
  }
  async function submit(fields: Record<string, string>, button: string): Promise<void> {
    for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: button }).first().click()]);
  }

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({ stack: "local", containers: [...MAIL_STACK, "account"] });
    directory = await openDirectory(stack);
    base = `http://${await stack.ip("account")}:8080`;
    imap = await stack.ip("mail-dovecot");
    browser = await chromium.launch(CHROMIUM);
    page = await browser.newPage({ locale: "en-GB" });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.teardown();
  });

  it("mails the invitation of a new member, whose link sets a first password that opens IMAPS", async () => {
    const add = await members("add", "--uid", jeanne.uid, "--name", "Jeanne Dupont", "--email", jeanne.mail, "--until", "2027-09-30");
    expect(add.stderr).toBe("");
    expect(add.stdout).toContain(`${jeanne.uid}: invitation mailed to ${jeanne.mail} (valid 168 h)`);
    const link = await linkFromMail(stack, jeanne.mail, "invitation", seen);

    await page.goto(`${base}${link}`);
    await shot("1-invitation");
    await submit({ new: "too-short", confirm: "too-short" }, "Set my password");
    expect(await notice()).toBe("The directory refused this password: it needs at least 12 characters. Nothing was changed.");
    await shot("2-weak-password-refused");
    expect(await imapLogin(imap, jeanne.mail, "too-short")).toBe("refused");

    await submit({ new: passwords.first, confirm: passwords.first }, "Set my password");
    expect(await notice()).toBe("Your password is set. You can now log in to mail, Nextcloud and this page.");
    await shot("3-password-set");
    expect(await imapLogin(imap, jeanne.mail, passwords.first)).toBe("accepted");
  });

  it("refuses the used invitation link", async () => {
    const [used] = [...seen];
    await page.goto(`${base}${used}`);
    expect(await notice()).toBe("This link is not valid: it was already used, or replaced by a newer one. Ask for a new one.");
    await shot("4-used-link");
  });

  it("changes the password with the old one only; the old one then fails on IMAPS", async () => {
    await page.goto(`${base}/`);
    await submit({ uid: jeanne.uid, password: passwords.first }, "Log in");
    expect(await page.locator("#membership-end").innerText()).toBe("2027-09-30");
    await shot("5-account");

    await submit({ old: "not-my-password", new: passwords.second, confirm: passwords.second }, "Change my password");
    expect(await notice()).toBe("The current password is wrong. Nothing was changed.");
    expect(await imapLogin(imap, jeanne.mail, passwords.first)).toBe("accepted");

    await submit({ old: passwords.first, new: passwords.second, confirm: passwords.second }, "Change my password");
    expect(await notice()).toBe("Your password is changed. Use it for mail, Nextcloud and the other services.");
    await shot("6-password-changed");
    expect(await imapLogin(imap, jeanne.mail, passwords.first)).toBe("refused");
    expect(await imapLogin(imap, jeanne.mail, passwords.second)).toBe("accepted");
  });

  it("resets a forgotten password through a mailed link", async () => {
    await page.goto(`${base}/forgot`);
    await submit({ login: jeanne.mail }, "Send me a link");
    expect(await notice()).toBe("If this account exists and may log in, a link is on its way to its mailbox.");
    await shot("7-forgot");
    const link = await linkFromMail(stack, jeanne.mail, "reset", seen);
    await page.goto(`${base}${link}`);
    await shot("8-reset");
    await submit({ new: passwords.third, confirm: passwords.third }, "Set my password");
    expect(await notice()).toBe("Your password is set. You can now log in to mail, Nextcloud and this page.");
    expect(await imapLogin(imap, jeanne.mail, passwords.second)).toBe("refused");
    expect(await imapLogin(imap, jeanne.mail, passwords.third)).toBe("accepted");
  });

  it("adds and removes the member's own SSH key, refusing an invalid one", async () => {
    const key = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 9)]).toString("base64")} jeanne@laptop`;
    await logIn(passwords.third);
    await submit({ key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG" }, "Add this key");
    expect(await notice()).toBe("The key data is damaged (not base64): paste the whole line of your .pub file.");
    await submit({ key }, "Add this key");
    expect(await notice()).toBe("The key is added. On the hosts it works from your next login.");
    await shot("9-key-added");
    expect((await members("keys", "list", jeanne.uid)).stdout).toBe(`1  ${key}\n1 key(s)\n`);
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Remove" }).click()]);
    expect(await notice()).toBe("The key is removed.");
    expect((await members("keys", "list", jeanne.uid)).stdout).toBe("0 key(s)\n");
  });

  it("lets a member made tech log in to a host with a key added on the page, and not once it is removed", async () => {
    expect((await members("grant-tech", jeanne.uid, "--until", "2099-01-31")).exitCode).toBe(0);
    const config = stack.rendered.config;
    const host = await startTestHost(
      stack,
      {
        baseDn: baseDnOf(config.domain),
        directoryUrl: "ldaps://ldap:636",
        directoryCaCertificate: directory.ca,
        localUsers: ["deploy"],
        firewall: firewallPorts({ docker: "ssh://deploy@test-host", services: config.services }),
      },
      stack.spec("ldap").secrets.LDAP_SERVICE_PASSWORD_HOSTS,
    );
    try {
      const key = await host.newKey(jeanne.uid);
      expect((await host.ssh(jeanne.uid, jeanne.uid, "id -un")).exitCode).not.toBe(0);
      await logIn(passwords.third);
      await submit({ key }, "Add this key");
      expect(await notice()).toBe("The key is added. On the hosts it works from your next login.");
      const login = await host.ssh(jeanne.uid, jeanne.uid, "id -un");
      expect(login.stdout.trim(), login.stderr).toBe(jeanne.uid);
      await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Remove" }).click()]);
      expect(await notice()).toBe("The key is removed.");
      expect((await host.ssh(jeanne.uid, jeanne.uid, "id -un")).exitCode).not.toBe(0);
    } finally {
      await host.remove();
    }
  });

  it("prints the invitation link instead of mailing it with --no-mail", async () => {
    const run = await members("invite", jeanne.uid, "--no-mail");
    expect(run.stdout).toMatch(
      /^jeanne: invitation link \(valid 168 h, works once\): https:\/\/account\.asso\.localhost\/invitation\/[A-Za-z0-9_-]{43}\n$/,
    );
  });

  it("keeps a pending invitation across a restart of the page", async () => {
    const link = /(\/invitation\/[A-Za-z0-9_-]{43})/.exec((await members("invite", jeanne.uid, "--no-mail")).stdout)?.[1] ?? "";
    await stack.restart("account");
    base = `http://${await stack.ip("account")}:8080`;
    await page.goto(`${base}${link}`);
    expect(await page.locator("h2").first().innerText()).toBe("Welcome, Jeanne Dupont. Choose your password.");
  });

  describe("the proxy's tech login for the metrics UI (GET /auth/tech on the page's unrouted port)", () => {
    const people = {
      tina: { password: "tina tech horse battery", uidNumber: 29001 },
      pierre: { password: "pierre plain horse battery", uidNumber: 29002 },
      ernest: { password: "ernest ended horse battery", uidNumber: 29003 },
    };
    let auth: string;
    const ask = (headers: Record<string, string> = {}) => fetch(`${auth}/auth/tech`, { headers });
    const as = (uid: string, password: string) => ask({ authorization: `Basic ${Buffer.from(`${uid}:${password}`).toString("base64")}` });

    /** Tech access as the members CLI grants it: in cn=tech, with an access end date (here possibly past). */
    async function grantTech(uid: string, accessEnd: string): Promise<void> {
      const admin = await directory.bound(directory.adminDn, directory.adminPassword);
      try {
        await admin.modify(directory.peopleDn(uid), [
          new Change({ operation: "replace", modification: new Attribute({ type: "assoAccessEnd", values: [accessEnd] }) }),
        ]);
        await admin.modify(`cn=tech,ou=groups,${directory.baseDn}`, [
          new Change({ operation: "add", modification: new Attribute({ type: "member", values: [directory.peopleDn(uid)] }) }),
        ]);
      } finally {
        await admin.unbind();
      }
    }

    beforeAll(async () => {
      auth = `http://${await stack.ip("account")}:${stack.spec("account").env.ACCOUNT_AUTH_PORT}`;
      for (const [uid, { password, uidNumber }] of Object.entries(people)) await addPerson(directory, uid, password, uidNumber);
      await grantTech("tina", "20990131000000Z");
      // Still in tech: the nightly expiry has not closed it yet, but its end date has passed.
      await grantTech("ernest", "20200101000000Z");
    });

    it("lets a tech member in, naming them to the proxy", async () => {
      const response = await as("tina", people.tina.password);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-forwarded-user")).toBe("tina");
    });

    it("refuses a plain member with valid credentials (403)", async () => {
      expect((await as("pierre", people.pierre.password)).status).toBe(403);
    });

    it("challenges a wrong password and a request without credentials (401, Basic)", async () => {
      for (const response of [await as("tina", "not tina's password"), await ask()]) {
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toMatch(/^Basic realm="/);
        expect(response.headers.get("x-forwarded-user")).toBeNull();
      }
    });

    it("refuses a tech member whose access ended (403), and once the expiry closed it, their password (401)", async () => {
      expect((await as("ernest", people.ernest.password)).status).toBe(403);
      const expire = await members("expire");
      expect(expire.stdout).toContain("ernest (access ended 2020-01-01): removed from tech, shadowExpire set, password locked");
      const closed = await as("ernest", people.ernest.password);
      expect(closed.status).toBe(401);
      expect(closed.headers.get("www-authenticate")).toMatch(/^Basic /);
    });

    it("is not served on the page's routed port", async () => {
      const basic = `Basic ${Buffer.from(`tina:${people.tina.password}`).toString("base64")}`;
      expect((await fetch(`${base}/auth/tech`, { headers: { authorization: basic } })).status).toBe(404);
    });

    it("logs who logged in or was refused, never a password", async () => {
      const logs = await stack.logs("account");
      expect(logs).toContain("account: tech login uid=tina");
      expect(logs).toContain("account: tech login without tech access uid=pierre");
      expect(logs).toContain("account: tech login refused uid=ernest");
      for (const { password } of Object.values(people)) expect(logs).not.toContain(password);
    });
  });

  it("logs no password", async () => {
    const logs = await stack.logs("account");
    for (const password of Object.values(passwords)) expect(logs).not.toContain(password);
    expect(logs).toContain("account: password change: changed uid=jeanne");
  });
});
