import { Attribute, Change } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { addPerson, openDirectory, passwordModifyValue, rejectsWith, type DirectorySession } from "../../helpers/ldap";

/** The ldap-daily container: expired accesses locked through the local socket, then a slapcat export. */
describe.runIf(dockerAvailable())("ldap daily job", () => {
  let stack: RunningStack;
  let directory: DirectorySession;
  const techDn = () => `cn=tech,ou=groups,${directory.baseDn}`;

  async function setAccess(uid: string, accessEnd: string): Promise<void> {
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    try {
      await admin.modify(directory.peopleDn(uid), [
        new Change({ operation: "replace", modification: new Attribute({ type: "assoAccessEnd", values: [accessEnd] }) }),
      ]);
      await admin.modify(techDn(), [
        new Change({ operation: "add", modification: new Attribute({ type: "member", values: [directory.peopleDn(uid)] }) }),
      ]);
    } finally {
      await admin.unbind();
    }
  }

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap", "ldap-daily"] });
    directory = await openDirectory(stack);
    await addPerson(directory, "dave", "dave-password-1234", 20004);
    await addPerson(directory, "erin", "erin-password-1234", 20005);
    await addPerson(directory, "frank", "frank-password-1234", 20006);
    await setAccess("dave", "20200101000000Z");
    await setAccess("erin", "20991231000000Z");
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("locks the expired access and only that one", async () => {
    const run = await stack.exec("ldap-daily", ["ldap-daily", "--once"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `ldap-expire: ${directory.peopleDn("dave")} (access ended 20200101000000Z): removed from tech, shadowExpire set, password locked`,
    );
    expect(run.stdout).not.toContain("erin");

    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    const { searchEntries } = await admin.search(techDn(), { scope: "base", attributes: ["member"] });
    expect(searchEntries[0].member).toEqual(expect.arrayContaining([directory.peopleDn("erin")]));
    expect(searchEntries[0].member).not.toContain(directory.peopleDn("dave"));
    const dave = await admin.search(directory.peopleDn("dave"), { scope: "base", attributes: ["shadowExpire", "pwdAccountLockedTime"] });
    expect(dave.searchEntries[0]).toMatchObject({ shadowExpire: "18262", pwdAccountLockedTime: "000001010000Z" });
    await admin.unbind();

    const client = await directory.client();
    expect(await rejectsWith(client.bind(directory.peopleDn("dave"), "dave-password-1234"))).toBe("InvalidCredentialsError");
    await client.bind(directory.peopleDn("erin"), "erin-password-1234");
    await client.unbind();
  });

  it("locks for good an ended access that failed logins had locked for a while", async () => {
    await setAccess("frank", "20200101000000Z");
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    try {
      // What ppolicy writes when it locks after failures: the moment of the lock, lifted at the next good login.
      await admin.modify(directory.peopleDn("frank"), [
        new Change({ operation: "replace", modification: new Attribute({ type: "pwdAccountLockedTime", values: ["20261201120000Z"] }) }),
      ]);
      const run = await stack.exec("ldap-daily", ["ldap-expire"]);
      expect(run.stdout).toContain(
        `ldap-expire: ${directory.peopleDn("frank")} (access ended 20200101000000Z): removed from tech, shadowExpire set, password locked`,
      );
      const frank = await admin.search(directory.peopleDn("frank"), { scope: "base", attributes: ["pwdAccountLockedTime"] });
      expect(frank.searchEntries[0].pwdAccountLockedTime).toBe("000001010000Z");
    } finally {
      await admin.unbind();
    }
  });

  it("changes nothing on a second run", async () => {
    const before = await directory.slapcat(1);
    const run = await stack.exec("ldap-daily", ["ldap-expire"]);
    expect(run.stdout).toMatch(/^ldap-expire: nothing to change/);
    expect(await directory.slapcat(1)).toBe(before);
  });

  it("brings a directory made by an earlier image up to date at its next start", async () => {
    const base = directory.baseDn;
    // What an earlier image left: the policy that locked after 10 failures, no account page's account, other rules.
    const earlier = [
      `dn: cn=default,ou=policies,${base}\nchangetype: modify\nreplace: pwdCheckQuality\npwdCheckQuality: 1\n-\nreplace: pwdMaxFailure\npwdMaxFailure: 10\n-\n`,
      `dn: cn=account,ou=services,${base}\nchangetype: delete\n`,
    ].join("\n");
    const rules = `dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcAccess\nolcAccess: {0}to * by * none\n`;
    await stack.stop("ldap");
    const data = await stack.runOnVolumes("ldap", ["slapmodify", "-F", "/etc/ldap/slapd.d", "-n1"], { input: earlier });
    expect(data.exitCode, data.stderr).toBe(0);
    const config = await stack.runOnVolumes("ldap", ["slapmodify", "-F", "/etc/ldap/slapd.d", "-n0"], { input: rules });
    expect(config.exitCode, config.stderr).toBe(0);
    // Earlier images kept no record of the rules they applied (ldap-entrypoint's image-rules.sha256).
    const stamp = await stack.runOnVolumes("ldap", ["rm", "-f", "/var/lib/ldap/image-rules.sha256"]);
    expect(stamp.exitCode, stamp.stderr).toBe(0);
    await stack.start("ldap");
    await stack.waitHealthy("ldap");

    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    try {
      const policy = await admin.search(`cn=default,ou=policies,${base}`, {
        scope: "base",
        attributes: ["pwdCheckQuality", "pwdMaxFailure"],
      });
      expect(policy.searchEntries[0]).toMatchObject({ pwdCheckQuality: "2", pwdMaxFailure: "0" });
    } finally {
      await admin.unbind();
    }
    const account = await directory.bound(`cn=account,ou=services,${base}`, directory.servicePassword("account"));
    try {
      await account.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(undefined, "erin-set-after-upgrade", directory.peopleDn("erin")));
    } finally {
      await account.unbind();
    }
    const erin = await directory.bound(directory.peopleDn("erin"), "erin-set-after-upgrade");
    await erin.unbind();
    expect((await stack.logs("ldap")).match(/adding the service account cn=account,/g)).toHaveLength(1);
  });

  it("exports cn=config and the data to the ldap-backup volume", async () => {
    const files = await stack.exec("ldap-daily", ["sh", "-c", "ls /var/backups/ldap"]);
    expect(files.stdout).toMatch(/config-\d{8}T\d{6}Z\.ldif/);
    const data = await stack.exec("ldap-daily", ["sh", "-c", "cat /var/backups/ldap/data-*.ldif"]);
    expect(data.stdout).toContain(`dn: ${directory.peopleDn("dave")}`);
  });
});
