import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { Attribute, Change } from "ldapts";
import { addPerson, IMAGE_PASSWORD_HASH, openDirectory, rejectsWith, type DirectorySession } from "../../helpers/ldap";
import { run } from "../../helpers/testssl";

/** slapcat output without what changes on its own (timestamps, CSNs). */
function stable(ldif: string): string {
  return ldif
    .split("\n")
    .filter((line) => !/^(entryCSN|contextCSN|createTimestamp|modifyTimestamp):/.test(line))
    .join("\n");
}

/** The first start creates cn=config and the tree; later starts and a new container change nothing. */
describe.runIf(dockerAvailable())("ldap bootstrap", () => {
  let stack: RunningStack;
  let directory: DirectorySession;

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
    await addPerson(directory, "carol", "carol-password-123", 20003);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("creates the tree of docs/contracts.md at the first start", async () => {
    const dns = (await directory.slapcat(1)).match(/^dn: .*$/gm)?.map((line) => line.slice(4)) ?? [];
    const base = directory.baseDn;
    expect(dns).toEqual(
      expect.arrayContaining([
        base,
        `ou=people,${base}`,
        `ou=groups,${base}`,
        `ou=services,${base}`,
        `cn=members,ou=groups,${base}`,
        `cn=tech,ou=groups,${base}`,
        `cn=admins,ou=groups,${base}`,
        ...["mail", "mattermost", "nextcloud", "hosts"].map((svc) => `cn=${svc},ou=services,${base}`),
      ]),
    );
  });

  it("keeps cn=config and the data identical across two restarts", async () => {
    const before = { config: stable(await directory.slapcat(0)), data: stable(await directory.slapcat(1)) };
    await stack.restart("ldap");
    await stack.restart("ldap");
    expect(stable(await directory.slapcat(0))).toBe(before.config);
    expect(stable(await directory.slapcat(1))).toBe(before.data);
  });

  it("keeps the data, the config and the certificate when the container is re-created on its volumes", async () => {
    const before = { config: stable(await directory.slapcat(0)), data: stable(await directory.slapcat(1)), ca: directory.ca };
    await stack.recreate("ldap");
    const again = await openDirectory(stack);
    expect(again.ca).toBe(before.ca);
    expect(stable(await again.slapcat(0))).toBe(before.config);
    expect(stable(await again.slapcat(1))).toBe(before.data);
    const carol = await again.bound(again.peopleDn("carol"), "carol-password-123");
    await carol.unbind();
  });

  it("does not run the first-start steps again on a later start", async () => {
    await stack.restart("ldap");
    const logs = await stack.logs("ldap");
    expect(logs).not.toContain("first start");
  });

  it("still accepts the argon2i hashes that earlier images stored", async () => {
    // Made by Debian's libargon2 module (argon2i, two lanes) for "erin-password-123".
    const earlier = "{ARGON2}$argon2i$v=19$m=4096,t=3,p=2$MDEyMzQ1Njc4OWFiY2RlZg$ZLX6dXJaZI5fixjPE7XuHwZ3+3cEnfYxBEXUFSEbuho";
    await addPerson(directory, "erin", "erin-first-password", 20010);
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    await admin.modify(directory.peopleDn("erin"), [
      new Change({ operation: "replace", modification: new Attribute({ type: "userPassword", values: [earlier] }) }),
    ]);
    await admin.unbind();
    const erin = await directory.bound(directory.peopleDn("erin"), "erin-password-123");
    await erin.unbind();
    expect(await rejectsWith(directory.bound(directory.peopleDn("erin"), "erin-password-124"))).toBe("InvalidCredentialsError");
  });

  // Earlier images wrote libargon2's module options: none, later "p=2", which the libsodium module
  // reads as 64 MiB or refuses. The directory is put back in that state offline, as it would be found.
  it.each(["", " p=2"])(
    "starts a directory whose argon2 options an earlier image wrote ('argon2%s'), at the image's cost",
    async (earlier) => {
      const argon2Line = (config: string) => /^olcModuleLoad: (\{\d+\}argon2.*)$/m.exec(config)?.[1];
      const current = argon2Line(await directory.slapcat(0));
      await stack.stop("ldap");
      const ldif = `dn: cn=module{0},cn=config\nchangetype: modify\ndelete: olcModuleLoad\nolcModuleLoad: ${current}\n-\nadd: olcModuleLoad\nolcModuleLoad: {4}argon2${earlier}\n`;
      const rewritten = await stack.runOnVolumes("ldap", ["slapmodify", "-F", "/etc/ldap/slapd.d", "-n0"], { input: ldif });
      expect(rewritten.exitCode, rewritten.stderr).toBe(0);
      await stack.start("ldap");
      await stack.waitHealthy("ldap");

      expect(argon2Line(await directory.slapcat(0))).toBe("{4}argon2 m=4096 t=3");
      const carol = await directory.bound(directory.peopleDn("carol"), "carol-password-123");
      await carol.unbind();
      const uid = `dave${earlier.length}`;
      await addPerson(directory, uid, "dave-password-123", 20004 + earlier.length);
      expect(await directory.storedPassword(uid)).toMatch(IMAGE_PASSWORD_HASH);
    },
  );

  // An earlier image set only olcTLSProtocolMin, which Debian's slapd (GnuTLS) does not enforce: TLS 1.0
  // and CBC suites stayed on. The directory is put back in that state offline, as it would be found.
  it("gives a directory made before the TLS policy the stack's policy at its next start", async () => {
    const policy = stack.spec("ldap").env.LDAP_TLS_CIPHER_SUITE;
    const cipherSuite = (config: string) => /^olcTLSCipherSuite: (.*)$/m.exec(config)?.[1];
    expect(cipherSuite(await directory.slapcat(0))).toBe(policy);
    await stack.stop("ldap");
    const ldif = "dn: cn=config\nchangetype: modify\ndelete: olcTLSCipherSuite\n";
    const rewritten = await stack.runOnVolumes("ldap", ["slapmodify", "-F", "/etc/ldap/slapd.d", "-n0"], { input: ldif });
    expect(rewritten.exitCode, rewritten.stderr).toBe(0);
    // The stamp an earlier image wrote: the hash of its rules, which had no TLS policy.
    const stamp = await stack.runOnVolumes("ldap", ["sh", "-c", "echo earlier-image > /var/lib/ldap/image-rules.sha256"]);
    expect(stamp.exitCode, stamp.stderr).toBe(0);
    await stack.start("ldap");
    await stack.waitHealthy("ldap");

    expect(cipherSuite(await directory.slapcat(0))).toBe(policy);
    const ip = await stack.ip("ldap");
    const handshake = (...args: string[]) => run("openssl", ["s_client", "-connect", `${ip}:636`, ...args], 30_000);
    expect((await handshake("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")).output).toMatch(/Cipher is \(NONE\)/);
    expect((await handshake("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")).output).toMatch(/Cipher is \(NONE\)/);
    expect((await handshake("-tls1_2")).output).toMatch(/Cipher is ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)/);
  });
});
