import { describe, expect, it } from "vitest";
import { resolveConnection } from "../../../ldap/members/connection";
import { filterValue } from "../../../ldap/members/directory";
import { daysSinceEpoch, describePlan, planExpiry } from "../../../ldap/members/expire";
import { memberCounts, toCsv } from "../../../ldap/members/export";
import { accountUrl } from "../../../ldap/members/invitation";
import type { Person } from "../../../ldap/members/person";
import { UsageError } from "../../../ldap/members/validate";

const BASE = "dc=asso,dc=localhost";
const person = (uid: string, more: Partial<Person> = {}): Person => ({
  dn: `uid=${uid},ou=people,${BASE}`,
  uid,
  name: uid,
  mail: `${uid}@asso.localhost`,
  type: "physical",
  tech: false,
  admin: false,
  ...more,
});
const NOW = new Date("2026-11-28T10:00:00Z");

describe("planExpiry", () => {
  it("closes only the accesses whose end is past", () => {
    const people = [
      person("ended", { accessEnd: "20261127000000Z", tech: true, admin: true }),
      person("today", { accessEnd: "20261128100000Z", tech: true }),
      person("later", { accessEnd: "20261129000000Z", tech: true }),
      person("member"),
    ];
    expect(planExpiry(people, NOW, BASE).map(describePlan)).toEqual([
      "ended (access ended 2026-11-27): removed from tech, removed from admins, shadowExpire set, password locked",
      "today (access ended 2026-11-28): removed from tech, shadowExpire set, password locked",
    ]);
  });

  it("sets shadowExpire to the day the access ended", () => {
    const [plan] = planExpiry([person("a", { accessEnd: "20261127000000Z" })], NOW, BASE);
    expect(plan.setShadowExpire).toBe(20784);
    expect(daysSinceEpoch("19700102000000Z")).toBe(1);
  });

  it("plans nothing once everything is done, so a second run changes nothing", () => {
    const done = person("done", { accessEnd: "20200101000000Z", shadowExpire: 18262, lockedTime: "000001010000Z" });
    expect(planExpiry([done], NOW, BASE)).toEqual([]);
  });

  it("locks for good an ended access whose only lock was a temporary one (failed logins)", () => {
    const temporarilyLocked = person("temp", { accessEnd: "20200101000000Z", shadowExpire: 18262, lockedTime: "20261128093000Z" });
    expect(planExpiry([temporarilyLocked], NOW, BASE).map(describePlan)).toEqual(["temp (access ended 2020-01-01): password locked"]);
  });

  it("finishes what a previous run left half done", () => {
    const half = person("half", { accessEnd: "20200101000000Z", shadowExpire: 18262, admin: true });
    expect(planExpiry([half], NOW, BASE).map(describePlan)).toEqual([
      "half (access ended 2020-01-01): removed from admins, password locked",
    ]);
  });
});

describe("export", () => {
  const people = [
    person("zoe", { name: 'Zoé "Z" Martin, jr', membershipEnd: "20260101000000Z" }),
    person("asso", { type: "legal", name: "Compiègne en Transition", membershipEnd: "20270101000000Z" }),
    person("ana", { tech: true }),
  ];

  it("writes an RFC 4180 CSV sorted by uid, quoting what needs it", () => {
    expect(toCsv(people, NOW).split("\r\n")).toEqual([
      "uid,name,email,type,membership_end,current,tech,admin",
      "ana,ana,ana@asso.localhost,physical,,yes,yes,no",
      "asso,Compiègne en Transition,asso@asso.localhost,legal,2027-01-01,yes,no,no",
      'zoe,"Zoé ""Z"" Martin, jr",zoe@asso.localhost,physical,2026-01-01,no,no,no',
      "",
    ]);
  });

  it("counts physical and legal members, and the current ones", () => {
    expect(memberCounts(people, NOW)).toBe("physical members: 2 (current: 1); legal members: 1 (current: 1)");
  });
});

describe("resolveConnection", () => {
  const files: Record<string, string> = { "/ca.pem": "PEM", "/pw": "secret\n" };
  const read = (file: string) => {
    if (!(file in files)) throw new Error("ENOENT");
    return files[file];
  };
  const problems = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (error instanceof UsageError) return error.problems;
      throw error;
    }
    return [];
  };

  it("defaults to LDAPS on ldap.<domain> as the admin", () => {
    const c = resolveConnection({}, { LDAP_BASE_DN: BASE, LDAP_BIND_PASSWORD: "pw" }, read);
    expect(c).toMatchObject({
      url: "ldaps://ldap.asso.localhost",
      bindDn: `cn=admin,${BASE}`,
      bindPassword: "pw",
      startTls: false,
      tls: {},
    });
  });

  it("uses StartTLS for ldap:// URLs, and the CA and name it is given", () => {
    const c = resolveConnection(
      { url: "ldap://127.0.0.1:389", caFile: "/ca.pem", bindPasswordFile: "/pw" },
      { LDAP_BASE_DN: BASE, LDAP_TLS_SERVERNAME: "ldap" },
      read,
    );
    expect(c).toMatchObject({ startTls: true, bindPassword: "secret", tls: { ca: "PEM", servername: "ldap" } });
  });

  it("lists every missing or wrong setting at once", () => {
    expect(problems(() => resolveConnection({ url: "http://ldap", caFile: "/nope" }, {}, read))).toEqual([
      "--base-dn / LDAP_BASE_DN: missing; expected the directory's base DN such as dc=asso,dc=localhost",
      "--url / LDAP_URL 'http://ldap': not an LDAP URL; expected ldaps://host[:port] or ldap://host[:port] (StartTLS)",
      "LDAP_BIND_PASSWORD: missing; expected the password of the bind DN (or --bind-password-file FILE)",
      "--ca-file / LDAP_CA_FILE '/nope': cannot be read; expected a PEM certificate file",
    ]);
  });
});

describe("filterValue", () => {
  it("escapes what would change an LDAP filter", () => {
    expect(filterValue("a*b(c)\\d")).toBe("a\\2ab\\28c\\29\\5cd");
  });
});

describe("accountUrl", () => {
  it.each([
    [{}, undefined, "https://account.asso.localhost"],
    [{ ACCOUNT_URL: "https://account.example.org/" }, undefined, "https://account.example.org"],
    [{ ACCOUNT_URL: "https://account.example.org" }, "http://10.0.0.5:8080", "http://10.0.0.5:8080"],
  ])("env %j, flag %s -> %s", (env, flag, url) => {
    expect(accountUrl(BASE, env, flag)).toBe(url);
  });
});
