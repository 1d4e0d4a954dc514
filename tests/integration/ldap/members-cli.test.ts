import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { openDirectory, rejectsWith, runMembersCli, type DirectorySession } from "../../helpers/ldap";

/** An ed25519 public key line with a well-formed blob (the key itself is random bytes). */
function ed25519Key(comment: string): string {
  const field = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(Buffer.alloc(32, comment.length))]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

/** `npm run members -- <command>` as a child process, against the running directory. */
describe.runIf(dockerAvailable())("members CLI", () => {
  let stack: RunningStack;
  let directory: DirectorySession;

  const members = (...args: string[]) => runMembersCli(directory, args);

  async function entry(uid: string, attributes: string[]): Promise<Record<string, unknown>> {
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    try {
      const { searchEntries } = await admin.search(directory.peopleDn(uid), { scope: "base", attributes });
      return searchEntries[0];
    } finally {
      await admin.unbind();
    }
  }

  async function groupMembers(group: string): Promise<string[]> {
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    try {
      const { searchEntries } = await admin.search(`cn=${group},ou=groups,${directory.baseDn}`, { scope: "base", attributes: ["member"] });
      return ([] as string[]).concat(searchEntries[0].member as string[]);
    } finally {
      await admin.unbind();
    }
  }

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("prints help for every command", async () => {
    for (const command of ["add", "invite", "renew", "grant-tech", "revoke-tech", "list", "expire", "remove", "export"]) {
      const run = await members(command, "--help");
      expect(run.exitCode, command).toBe(0);
      expect(run.stdout, command).toContain(`Usage: members ${command}`);
    }
  });

  it("adds a physical member with a login, the next uidNumber and their SSH key", async () => {
    const key = ed25519Key("jeanne@laptop");
    const run = await members(
      "add",
      "--uid",
      "jdupont",
      "--name",
      "Jeanne Dupont",
      "--email",
      "jeanne@asso.localhost",
      "--until",
      "2027-09-30",
      "--ssh-key",
      key,
      // Invitations go through the account page (tests/integration/account); this file runs the directory alone.
      "--no-invitation",
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain(`added ${directory.peopleDn("jdupont")} (uidNumber 20000), groups: members`);
    expect(await entry("jdupont", ["uidNumber", "givenName", "sn", "sshPublicKey", "assoMembershipEnd", "memberOf"])).toMatchObject({
      uidNumber: "20000",
      givenName: "Jeanne",
      sn: "Dupont",
      sshPublicKey: key,
      assoMembershipEnd: "20270930000000Z",
      memberOf: `cn=members,ou=groups,${directory.baseDn}`,
    });
    const second = await members(
      "add",
      "--uid",
      "pmartin",
      "--name",
      "Paul Martin",
      "--email",
      "paul@asso.localhost",
      "--role",
      "tech",
      "--access-until",
      "2027-01-31",
      "--no-invitation",
    );
    expect(second.stdout).toContain("(uidNumber 20001), groups: members, tech");
  });

  it("adds a legal person without a login", async () => {
    const run = await members(
      "add",
      "--uid",
      "transition",
      "--name",
      "Compiègne en Transition",
      "--email",
      "contact@transition.example.org",
      "--type",
      "legal",
    );
    expect(run.exitCode, run.stderr).toBe(0);
    const legal = await entry("transition", ["objectClass", "uidNumber", "userPassword", "cn"]);
    expect(legal.objectClass).toEqual(["inetOrgPerson", "assoMember"]);
    expect(legal.cn).toBe("Compiègne en Transition");
    expect(legal.uidNumber ?? []).toEqual([]);
  });

  describe("refuses bad input without writing anything", () => {
    const cases: [string, string[], string][] = [
      [
        "a bad uid",
        ["add", "--uid", "Jean Dupont", "--name", "J D", "--email", "j@asso.localhost"],
        "members add: --uid 'Jean Dupont': not a valid uid; expected 2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. jdupont)",
      ],
      [
        "a bad email",
        ["add", "--uid", "jd", "--name", "J D", "--email", "j@"],
        "members add: --email 'j@': not an email address; expected an address such as jeanne.dupont@example.org",
      ],
      [
        "a bad date",
        ["add", "--uid", "jd", "--name", "J D", "--email", "j@asso.localhost", "--until", "2027-02-30"],
        "members add: --until '2027-02-30': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30",
      ],
      [
        "a malformed SSH key",
        ["add", "--uid", "jd", "--name", "J D", "--email", "j@asso.localhost", "--ssh-key", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG"],
        "members add: --ssh-key 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG': the key data is not base64; expected one OpenSSH public key line such as 'ssh-ed25519 AAAAC3Nza... jeanne@laptop' (the .pub file)",
      ],
      [
        "an SSH key whose data is another type",
        [
          "add",
          "--uid",
          "jd",
          "--name",
          "J D",
          "--email",
          "j@asso.localhost",
          "--ssh-key",
          ed25519Key("x").replace("ssh-ed25519", "ssh-rsa"),
        ],
        "members add: --ssh-key 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAEBA...': the key data does not hold a ssh-rsa key (cut short, or of another type); expected one OpenSSH public key line such as 'ssh-ed25519 AAAAC3Nza... jeanne@laptop' (the .pub file)",
      ],
      [
        "a duplicate uid",
        ["add", "--uid", "jdupont", "--name", "Other Person", "--email", "other@asso.localhost"],
        "members add: --uid 'jdupont': already taken; expected a uid no member has",
      ],
      [
        "a duplicate email",
        ["add", "--uid", "jdupont2", "--name", "Other Person", "--email", "Jeanne@asso.localhost"],
        "members add: --email 'jeanne@asso.localhost': already used by member jdupont; expected an address no member, group or service uses",
      ],
      [
        "the uid of a local system account",
        ["add", "--uid", "root", "--name", "Root Person", "--email", "root-person@asso.localhost"],
        "members add: --uid 'root': is a local system account of the hosts; expected a personal login that is no system account (e.g. jdupont)",
      ],
      [
        "the address of a service account",
        ["add", "--uid", "mm", "--name", "M M", "--email", "mattermost@asso.localhost"],
        "members add: --email 'mattermost@asso.localhost': already used by service account mattermost; expected an address no member, group or service uses",
      ],
      [
        "the address of a group",
        ["add", "--uid", "techie", "--name", "T T", "--email", "tech@asso.localhost"],
        "members add: --email 'tech@asso.localhost': already used by group tech; expected an address no member, group or service uses",
      ],
      [
        "a role address of the mail server",
        ["add", "--uid", "pm", "--name", "P M", "--email", "postmaster@asso.localhost"],
        "members add: --email 'postmaster@asso.localhost': is a role address of the mail server; expected the member's own address (e.g. jeanne.dupont@example.org)",
      ],
      [
        "a tech without an access end",
        ["add", "--uid", "jd", "--name", "J D", "--email", "j@asso.localhost", "--role", "tech"],
        "members add: --access-until: missing; expected the end date of the tech access, YYYY-MM-DD",
      ],
      [
        "a past access end",
        ["grant-tech", "jdupont", "--until", "2020-01-01"],
        "members grant-tech: --until '2020-01-01': is not after today; expected a future end date for the access",
      ],
      [
        "an unknown member",
        ["renew", "nobody", "--until", "2027-09-30"],
        "members renew: uid 'nobody': no such member; expected the uid of an existing member (see 'list')",
      ],
      [
        "a bad --expiring",
        ["list", "--expiring", "thirty"],
        "members list: --expiring 'thirty': not a number of days; expected a number of days such as 30d",
      ],
    ];
    it.each(cases)("%s", async (_name, args, message) => {
      const before = await directory.slapcat(1);
      const run = await members(...args);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.split("\n")[0]).toBe(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(await directory.slapcat(1)).toBe(before);
    });

    it("reports every bad argument of a command at once", async () => {
      const run = await members("add", "--uid", "X", "--name", "J D", "--email", "nope", "--until", "tomorrow");
      expect(run.exitCode).toBe(2);
      expect(run.stderr.split("\n").filter((line) => line.startsWith("members add: "))).toHaveLength(3);
    });
  });

  it("renews a membership", async () => {
    const run = await members("renew", "jdupont", "--until", "2028-09-30");
    expect(run.stdout.trim()).toBe("jdupont: membership until 2028-09-30");
    expect(await entry("jdupont", ["assoMembershipEnd"])).toMatchObject({ assoMembershipEnd: "20280930000000Z" });
  });

  it("grants tech and admin access until a date, and revokes the admin part only", async () => {
    const grant = await members("grant-tech", "jdupont", "--until", "2099-06-30", "--admin");
    expect(grant.stdout.trim()).toBe("jdupont: tech and admins until 2099-06-30");
    expect(await groupMembers("admins")).toContain(directory.peopleDn("jdupont"));
    const revoke = await members("revoke-tech", "jdupont", "--admin");
    expect(revoke.stdout.trim()).toBe("jdupont: removed from admins");
    expect(await groupMembers("admins")).not.toContain(directory.peopleDn("jdupont"));
    expect(await groupMembers("tech")).toContain(directory.peopleDn("jdupont"));
    expect(await entry("jdupont", ["assoAccessEnd"])).toMatchObject({ assoAccessEnd: "20990630000000Z" });
  });

  it("adds, lists and removes a member's SSH keys, refusing a bad key without writing", async () => {
    const laptop = ed25519Key("jeanne@laptop");
    const phone = ed25519Key("jeanne@phone-1");
    const added = await members("keys", "add", "pmartin", "--ssh-key", laptop, "--ssh-key", phone);
    expect(added.stdout.trim()).toBe("pmartin: 2 key(s) added");
    const again = await members("keys", "add", "pmartin", "--ssh-key", laptop);
    expect(again.stdout.trim()).toBe("pmartin: 0 key(s) added, 1 already there");
    const list = await members("keys", "list", "pmartin");
    expect(list.stdout).toBe(`1  ${laptop}\n2  ${phone}\n2 key(s)\n`);

    const before = await directory.slapcat(1);
    const bad = await members("keys", "add", "pmartin", "--ssh-key", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(
      "members keys: --ssh-key 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG': the key data is not base64; expected one OpenSSH public key line such as 'ssh-ed25519 AAAAC3Nza... jeanne@laptop' (the .pub file)",
    );
    const unknown = await members("keys", "remove", "pmartin", "3");
    expect(unknown.exitCode).toBe(2);
    expect(await directory.slapcat(1)).toBe(before);

    const removed = await members("keys", "remove", "pmartin", "1");
    expect(removed.stdout.trim()).toBe(`pmartin: key removed: ${laptop}`);
    expect(await entry("pmartin", ["sshPublicKey"])).toMatchObject({ sshPublicKey: phone });
    const byLine = await members("keys", "remove", "pmartin", phone);
    expect(byLine.exitCode, byLine.stderr).toBe(0);
    expect((await entry("pmartin", ["sshPublicKey"])).sshPublicKey ?? []).toEqual([]);
  });

  it("lists the members, and those whose membership or access ends soon", async () => {
    const all = await members("list");
    expect(all.exitCode, all.stderr).toBe(0);
    for (const uid of ["jdupont", "pmartin", "transition"]) expect(all.stdout).toContain(uid);
    expect(all.stdout).toContain("3 member(s)");
    const soon = await members("list", "--expiring", "30d", "--now", "2027-01-15");
    expect(soon.stdout).toContain("pmartin");
    expect(soon.stdout).not.toContain("jdupont");
    expect(soon.stdout).toContain("1 member(s)");
  });

  it("expires exactly the accesses past their end date, and a second run changes nothing", async () => {
    const dryRun = await members("expire", "--dry-run", "--now", "2027-02-01");
    expect(dryRun.stdout).toBe(
      "pmartin (access ended 2027-01-31): removed from tech, shadowExpire set, password locked\n1 to change (dry run: nothing written)\n",
    );
    expect(await groupMembers("tech")).toContain(directory.peopleDn("pmartin"));

    const run = await members("expire", "--now", "2027-02-01");
    expect(run.stdout).toBe("pmartin (access ended 2027-01-31): removed from tech, shadowExpire set, password locked\n1 changed\n");
    expect(await groupMembers("tech")).not.toContain(directory.peopleDn("pmartin"));
    expect(await groupMembers("tech")).toContain(directory.peopleDn("jdupont"));
    expect(await entry("pmartin", ["shadowExpire", "pwdAccountLockedTime"])).toMatchObject({
      shadowExpire: String(Math.floor(Date.UTC(2027, 0, 31) / 86_400_000)),
      pwdAccountLockedTime: "000001010000Z",
    });

    const before = await directory.slapcat(1);
    const again = await members("expire", "--now", "2027-02-01");
    expect(again.stdout).toBe("nothing to change\n");
    expect(await directory.slapcat(1)).toBe(before);
  });

  it("lifts the lock when tech access is granted again", async () => {
    const run = await members("grant-tech", "pmartin", "--until", "2099-01-31");
    expect(run.exitCode, run.stderr).toBe(0);
    const pmartin = await entry("pmartin", ["shadowExpire", "pwdAccountLockedTime"]);
    expect(pmartin.shadowExpire ?? []).toEqual([]);
    expect(pmartin.pwdAccountLockedTime ?? []).toEqual([]);
  });

  it("exports a CSV for the general assembly with the counts of physical and legal members", async () => {
    const run = await members("export", "--now", "2027-01-01");
    expect(run.exitCode, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\r\n");
    expect(lines[0]).toBe("uid,name,email,type,membership_end,current,tech,admin");
    expect(lines).toContain("jdupont,Jeanne Dupont,jeanne@asso.localhost,physical,2028-09-30,yes,yes,no");
    expect(lines).toContain("transition,Compiègne en Transition,contact@transition.example.org,legal,,yes,no,no");
    expect(run.stderr.trim()).toBe("physical members: 2 (current: 2); legal members: 1 (current: 1)");
  });

  it("removes a member from the directory and from every group", async () => {
    const run = await members("remove", "pmartin");
    expect(run.stdout.trim()).toBe(`removed ${directory.peopleDn("pmartin")}`);
    expect(await groupMembers("members")).not.toContain(directory.peopleDn("pmartin"));
    expect(await groupMembers("tech")).not.toContain(directory.peopleDn("pmartin"));
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    expect(await rejectsWith(admin.search(directory.peopleDn("pmartin"), { scope: "base" }))).toBe("NoSuchObjectError");
    await admin.unbind();
  });

  it("says what is wrong when the bind password is wrong", async () => {
    const run = await runMembersCli(directory, ["list"], { LDAP_BIND_PASSWORD: "wrong" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim()).toBe(
      `members list: cannot bind to ldaps://${directory.ip}:636: invalid credentials (code 49); check LDAP_BIND_DN and LDAP_BIND_PASSWORD`,
    );
  });

  it("works over StartTLS with an ldap:// URL", async () => {
    const run = await runMembersCli(directory, ["list"], { LDAP_URL: `ldap://${directory.ip}:389` });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("jdupont");
  });
});
