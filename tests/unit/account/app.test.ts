import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../../account/app/app";
import type { AppConfig } from "../../../account/app/config";
import type { Directory, Member, PasswordResult } from "../../../account/app/directory";
import type { Mailer } from "../../../account/app/mailer";
import { TokenStore } from "../../../account/app/tokens";

const ED25519 = `ssh-ed25519 ${Buffer.concat([field("ssh-ed25519"), field(Buffer.alloc(32, 7))]).toString("base64")} jeanne@laptop`;
function field(data: string | Buffer): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The directory as the page sees it: one member, jeanne, whose password and keys the fake keeps. */
class FakeDirectory {
  password: string | undefined = undefined;
  keys: string[] = [];
  lockedForever = false;
  readonly baseDn = "dc=asso,dc=localhost";
  personDn(uid: string) {
    return `uid=${uid},ou=people,${this.baseDn}`;
  }
  async find(login: string): Promise<Member | undefined> {
    if (login !== "jeanne" && login !== "jeanne@asso.localhost") return undefined;
    return {
      uid: "jeanne",
      dn: this.personDn("jeanne"),
      name: "Jeanne Dupont",
      mail: "jeanne@asso.localhost",
      membershipEnd: "20270930000000Z",
      tech: false,
      admin: false,
      sshKeys: [...this.keys],
      canLogIn: !this.lockedForever,
    };
  }
  async verify(dn: string, password: string) {
    if (dn === `cn=admin,${this.baseDn}`) return password === "admin-password";
    return this.password !== undefined && password === this.password;
  }
  async setPassword(_uid: string, next: string): Promise<PasswordResult> {
    if (next.length < 12) return "refused-by-policy";
    this.password = next;
    return "changed";
  }
  async changePassword(_uid: string, old: string, next: string): Promise<PasswordResult> {
    if (old !== this.password) return "wrong-old-password";
    return this.setPassword(_uid, next);
  }
  async addKey(_uid: string, key: string) {
    this.keys.push(key);
  }
  async removeKey(_uid: string, key: string) {
    this.keys = this.keys.filter((k) => k !== key);
  }
  async minimumPasswordLength() {
    return 12;
  }
}

const config: AppConfig = {
  port: 8080,
  authPort: 8081,
  publicUrl: "https://account.asso.localhost",
  ldap: { url: "ldaps://ldap", baseDn: "dc=asso,dc=localhost", bindDn: "cn=account,ou=services,dc=asso,dc=localhost", password: "x" },
  smtp: { host: "mail", port: 587, user: "account@asso.localhost", password: "x", verifyCertificate: false },
  dataDir: "",
  invitationHours: 168,
  resetMinutes: 60,
  rateLimit: { attempts: 3, windowSeconds: 900 },
};

describe("account page", () => {
  let directory: FakeDirectory;
  let mails: { to: string; subject: string; text: string }[];
  let clock: number;
  let dataDir: string;
  let app: ReturnType<typeof createApp>;

  const start = () =>
    createApp({
      config: { ...config, dataDir },
      directory: directory as unknown as Directory,
      tokens: new TokenStore(dataDir, () => clock),
      mailer: { send: async (m) => void mails.push(m) } satisfies Mailer,
      socketAddress: () => "192.0.2.1",
      now: () => clock,
    });
  const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    app.request(url, {
      method: "POST",
      body: new URLSearchParams(form).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en", ...headers },
    });
  const notice = async (response: Response) => /<p class="(?:error|ok)" id="notice">([^<]*)<\/p>/.exec(await response.text())?.[1];
  const invite = async () => {
    const response = await app.request("/api/invitations", {
      method: "POST",
      body: JSON.stringify({ uid: "jeanne", mail: false }),
      headers: { authorization: `Basic ${Buffer.from("cn=admin,dc=asso,dc=localhost:admin-password").toString("base64")}` },
    });
    return new URL(((await response.json()) as { link: string }).link).pathname;
  };
  const logIn = async () => {
    const response = await post("/login", { uid: "jeanne", password: directory.password ?? "" });
    const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await response.text())?.[1] ?? "";
    return { cookie, csrf };
  };

  beforeEach(() => {
    directory = new FakeDirectory();
    mails = [];
    clock = Date.UTC(2026, 11, 1);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "account-"));
    app = start();
  });

  it("sets the first password from an invitation link, which then works only once", async () => {
    const link = await invite();
    expect(await notice(await post(link, { new: "correct horse battery", confirm: "correct horse battery" }))).toBe(
      "Your password is set. You can now log in to mail, Nextcloud and this page.",
    );
    expect(directory.password).toBe("correct horse battery");
    const again = await post(link, { new: "another long password", confirm: "another long password" });
    expect(again.status).toBe(404);
    expect(await notice(again)).toBe("This link is not valid: it was already used, or replaced by a newer one. Ask for a new one.");
    expect(directory.password).toBe("correct horse battery");
  });

  it("refuses an expired invitation link and sets nothing", async () => {
    const link = await invite();
    clock += 169 * 3_600_000;
    const response = await post(link, { new: "correct horse battery", confirm: "correct horse battery" });
    expect(response.status).toBe(410);
    expect(await notice(response)).toBe("This link has expired. Ask for a new one.");
    expect(directory.password).toBeUndefined();
  });

  it("refuses a weak password with the policy's minimum, and the link still works", async () => {
    const link = await invite();
    const weak = await post(link, { new: "short", confirm: "short" });
    expect(weak.status).toBe(400);
    expect(await notice(weak)).toBe("The directory refused this password: it needs at least 12 characters. Nothing was changed.");
    expect(directory.password).toBeUndefined();
    expect((await post(link, { new: "correct horse battery", confirm: "correct horse battery" })).status).toBe(200);
  });

  it("refuses two different new passwords", async () => {
    const link = await invite();
    expect(await notice(await post(link, { new: "correct horse battery", confirm: "correct horse batterY" }))).toBe(
      "The two new passwords differ. Nothing was changed.",
    );
    expect(directory.password).toBeUndefined();
  });

  it("keeps pending invitations across a restart", async () => {
    const link = await invite();
    app = start();
    expect((await app.request(link, { headers: { "accept-language": "en" } })).status).toBe(200);
    expect(fs.readFileSync(path.join(dataDir, "tokens.json"), "utf8")).not.toContain(link.split("/").pop());
  });

  it("refuses to change the password without the right current one, and changes nothing", async () => {
    directory.password = "correct horse battery";
    const { cookie, csrf } = await logIn();
    const wrong = await post(
      "/password",
      { csrf, old: "not my password", new: "a brand new password", confirm: "a brand new password" },
      { cookie },
    );
    expect(await notice(wrong)).toBe("The current password is wrong. Nothing was changed.");
    expect(directory.password).toBe("correct horse battery");
    const right = await post(
      "/password",
      { csrf, old: "correct horse battery", new: "a brand new password", confirm: "a brand new password" },
      { cookie },
    );
    expect(await notice(right)).toBe("Your password is changed. Use it for mail, Nextcloud and the other services.");
    expect(directory.password).toBe("a brand new password");
  });

  it("refuses a form posted without the session's token", async () => {
    directory.password = "correct horse battery";
    const { cookie } = await logIn();
    const forged = await post("/keys/add", { csrf: "forged", key: ED25519 }, { cookie });
    expect(forged.status).toBe(403);
    expect(directory.keys).toEqual([]);
  });

  it("refuses an invalid SSH key with its message and adds nothing; adds and removes a valid one", async () => {
    directory.password = "correct horse battery";
    const { cookie, csrf } = await logIn();
    const bad = await post("/keys/add", { csrf, key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG" }, { cookie });
    expect(bad.status).toBe(400);
    expect(await notice(bad)).toBe("The key data is damaged (not base64): paste the whole line of your .pub file.");
    expect(directory.keys).toEqual([]);
    expect(await notice(await post("/keys/add", { csrf, key: ED25519 }, { cookie }))).toBe(
      "The key is added. On the hosts it works from your next login.",
    );
    expect(directory.keys).toEqual([ED25519]);
    expect(await notice(await post("/keys/remove", { csrf, key: ED25519 }, { cookie }))).toBe("The key is removed.");
    expect(directory.keys).toEqual([]);
  });

  it("answers the forgotten-password form alike for a member and a stranger, and mails only the member", async () => {
    const stranger = await notice(await post("/forgot", { login: "nobody@example.org" }));
    const member = await notice(await post("/forgot", { login: "jeanne@asso.localhost" }, { "x-forwarded-for": "198.51.100.7" }));
    expect(stranger).toBe(member);
    expect(mails.map((m) => [m.to, m.subject])).toEqual([["jeanne@asso.localhost", "Your account: new password"]]);
  });

  it("mails no reset link to a member whose access is locked for good", async () => {
    directory.lockedForever = true;
    await post("/forgot", { login: "jeanne" });
    expect(mails).toEqual([]);
  });

  it("rate-limits the login form per client address", async () => {
    for (let attempt = 0; attempt < 3; attempt++) expect((await post("/login", { uid: "jeanne", password: "guess" })).status).toBe(403);
    const limited = await post("/login", { uid: "jeanne", password: "guess" });
    expect(limited.status).toBe(429);
    expect(await notice(limited)).toBe("Too many attempts from your address. Wait a few minutes and try again.");
    // Another client (the proxy's X-Forwarded-For) is not held back by the first one's guesses.
    expect((await post("/login", { uid: "jeanne", password: "guess" }, { "x-forwarded-for": "203.0.113.9" })).status).toBe(403);
  });

  it("refuses the invitation API without the directory admin's password", async () => {
    const response = await app.request("/api/invitations", {
      method: "POST",
      body: JSON.stringify({ uid: "jeanne" }),
      headers: { authorization: `Basic ${Buffer.from("cn=admin,dc=asso,dc=localhost:wrong").toString("base64")}` },
    });
    expect(response.status).toBe(401);
    expect(mails).toEqual([]);
  });

  it("speaks French by default and English when asked, on a page that needs no JavaScript", async () => {
    const french = await (await app.request("/")).text();
    expect(french).toContain('<html lang="fr">');
    expect(french).toContain("Mot de passe oublié ?");
    expect(french).not.toContain("<script");
    const forgot = await (await app.request("/forgot")).text();
    expect(forgot).toContain('<a href="/forgot?lang=en" hreflang="en">English</a>');
    const afterPost = await (await post("/login", { uid: "jeanne", password: "wrong" })).text();
    expect(afterPost).toContain('<a href="/?lang=fr" hreflang="fr">Français</a>');
    const english = await (await app.request("/?lang=en")).text();
    expect(english).toContain('<html lang="en">');
    expect(english).toContain("Forgot your password?");
  });
});
