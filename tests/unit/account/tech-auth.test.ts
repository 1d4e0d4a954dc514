import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../account/app/app";
import type { AppConfig } from "../../../account/app/config";
import type { Directory, Member } from "../../../account/app/directory";
import { createTechAuth, GRANT_SECONDS, hasTechAccess, USER_HEADER } from "../../../account/app/tech-auth";
import type { TokenStore } from "../../../account/app/tokens";

const NOW = Date.UTC(2026, 11, 1, 12);
const TODAY = Math.floor(NOW / 86_400_000);

/** A physical member who may log in; each case changes what it tests. */
function member(uid: string, change: Partial<Member> = {}): Member {
  return {
    uid,
    dn: `uid=${uid},ou=people,dc=asso,dc=localhost`,
    name: uid,
    mail: `${uid}@asso.localhost`,
    tech: false,
    admin: false,
    sshKeys: [],
    canLogIn: true,
    ...change,
  };
}

const AHEAD = "20270131000000Z";
const PEOPLE: Record<string, Member> = {
  tess: member("tess", { tech: true, accessEnd: AHEAD }),
  adam: member("adam", { admin: true, accessEnd: AHEAD }),
  paul: member("paul"),
  // In tech still (the nightly expiry has not run yet), but the access ended this morning.
  enid: member("enid", { tech: true, accessEnd: "20261201000000Z" }),
  // The known sssd pitfall: access end ahead, but shadowExpire reached today.
  shay: member("shay", { tech: true, accessEnd: AHEAD, shadowExpire: TODAY }),
  // Closed by the expiry: out of the groups, locked for good.
  lock: member("lock", { canLogIn: false }),
  noend: member("noend", { tech: true }),
};
const PASSWORD = (uid: string) => `${uid} correct horse battery`;

class FakeDirectory {
  binds = 0;
  async find(login: string) {
    return PEOPLE[login];
  }
  async verify(dn: string, password: string) {
    this.binds += 1;
    const uid = /^uid=([^,]+),/.exec(dn)?.[1] ?? "";
    return password !== "" && password === PASSWORD(uid);
  }
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("hasTechAccess: the rule of a login to the hosts", () => {
  it.each([
    ["tess", true, "tech, access end ahead"],
    ["adam", true, "admins, access end ahead"],
    ["paul", false, "a plain member"],
    ["enid", false, "tech, access end passed (expiry not run yet)"],
    ["shay", false, "tech, shadowExpire reached while the access end is ahead"],
    ["lock", false, "locked for good"],
    ["noend", false, "tech without an access end date (the keys command refuses it too)"],
  ])("%s: %s (%s)", (uid, expected) => {
    expect(hasTechAccess(PEOPLE[uid], NOW)).toBe(expected);
  });

  it("grants until the access end's very second, as the hosts' filter assoAccessEnd>=now does", () => {
    const ends = member("x", { tech: true, accessEnd: "20261201120000Z" });
    expect(hasTechAccess(ends, NOW)).toBe(true);
    expect(hasTechAccess(ends, NOW + 1000)).toBe(false);
  });
});

describe("the proxy's tech login, GET /auth/tech", () => {
  let directory: FakeDirectory;
  let clock: number;
  let logs: string[];
  let app: ReturnType<typeof createTechAuth>;
  const ask = (headers: Record<string, string> = {}) => app.request("/auth/tech", { headers });
  const as = (uid: string, password = PASSWORD(uid), from = "198.51.100.7") =>
    ask({ authorization: basic(uid, password), "x-forwarded-for": from });

  beforeEach(() => {
    directory = new FakeDirectory();
    clock = NOW;
    logs = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void logs.push(line));
    app = createTechAuth({
      config: { rateLimit: { attempts: 3, windowSeconds: 900 } },
      directory: directory as unknown as Directory,
      socketAddress: () => "172.18.0.2",
      now: () => clock,
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("answers 200 with the member's uid to a tech member and to an admin", async () => {
    for (const uid of ["tess", "adam"]) {
      const response = await as(uid);
      expect(response.status).toBe(200);
      expect(response.headers.get(USER_HEADER)).toBe(uid);
    }
  });

  it("challenges a request without credentials (401, Basic), asking nothing of the directory", async () => {
    const asked: Record<string, string>[] = [
      {},
      { authorization: "Bearer abc" },
      { authorization: `Basic ${Buffer.from("no-colon").toString("base64")}` },
    ];
    for (const headers of asked) {
      const response = await ask(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Basic realm="[^"]+"/);
    }
    expect(directory.binds).toBe(0);
  });

  it("answers 401 with the challenge to a wrong password, an unknown uid and an account locked for good", async () => {
    for (const [uid, password] of [
      ["tess", "wrong"],
      ["tess", ""],
      ["nobody", "whatever"],
      ["lock", PASSWORD("lock")],
    ]) {
      const response = await as(uid, password, `203.0.113.${uid.length}${password.length}`);
      expect(response.status, `${uid}/${password}`).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(response.headers.get(USER_HEADER)).toBeNull();
    }
  });

  it("answers 403 to a valid member without tech access: plain, access ended, shadowExpire reached", async () => {
    for (const uid of ["paul", "enid", "shay", "noend"]) {
      const response = await as(uid);
      expect(response.status, uid).toBe(403);
      expect(response.headers.get(USER_HEADER)).toBeNull();
    }
  });

  it("refuses an address after its failed attempts, even with the right password, and no other address", async () => {
    for (let i = 0; i < 3; i++) expect((await as("tess", "wrong")).status).toBe(401);
    const binds = directory.binds;
    expect((await as("tess")).status).toBe(429);
    expect(directory.binds).toBe(binds);
    expect((await as("tess", PASSWORD("tess"), "198.51.100.8")).status).toBe(200);
    clock += 900_000;
    expect((await as("tess")).status).toBe(200);
  });

  it("counts the client's address as the proxy wrote it (the last X-Forwarded-For entry), not a forged first one", async () => {
    for (let i = 0; i < 3; i++) expect((await as("tess", "wrong", `10.0.0.${i}, 198.51.100.7`)).status).toBe(401);
    expect((await as("tess", PASSWORD("tess"), "10.0.0.9, 198.51.100.7")).status).toBe(429);
  });

  it("lets a tech member make many requests: successes do not count, a granted login is remembered for a while", async () => {
    for (let i = 0; i < 20; i++) expect((await as("tess")).status).toBe(200);
    expect(directory.binds).toBe(1);
    clock += GRANT_SECONDS * 1000;
    expect((await as("tess")).status).toBe(200);
    expect(directory.binds).toBe(2);
    // Remembered for these credentials only: another password is checked again.
    expect((await as("tess", "wrong")).status).toBe(401);
  });

  it("takes the end of an access into account once the remembered grant expires", async () => {
    const before = PEOPLE.tess.accessEnd;
    try {
      expect((await as("tess")).status).toBe(200);
      PEOPLE.tess.accessEnd = "20261201000000Z";
      clock += GRANT_SECONDS * 1000;
      expect((await as("tess")).status).toBe(403);
    } finally {
      PEOPLE.tess.accessEnd = before;
    }
  });

  it("logs who was refused or let in, never a password", async () => {
    await as("tess");
    await as("paul");
    await as("tess", "a wrong secret");
    expect(logs).toEqual([
      "account: tech login uid=tess",
      "account: tech login without tech access uid=paul",
      "account: tech login refused uid=tess",
    ]);
    expect(logs.join("\n")).not.toMatch(/horse|wrong secret/);
  });

  it("is not served by the page's own port, which the proxy routes publicly", async () => {
    const page = createApp({
      config: { rateLimit: { attempts: 3, windowSeconds: 900 }, ldap: { baseDn: "dc=asso,dc=localhost" } } as AppConfig,
      directory: directory as unknown as Directory,
      tokens: {} as TokenStore,
      mailer: { send: async () => undefined },
      socketAddress: () => "172.18.0.2",
    });
    const response = await page.request("/auth/tech", { headers: { authorization: basic("tess", PASSWORD("tess")) } });
    expect(response.status).toBe(404);
    expect(directory.binds).toBe(0);
  });
});
