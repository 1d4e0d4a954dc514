import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firewallPorts } from "../../../hosts/render";
import { baseDnOf } from "../../../platform/directory";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { addPeople, removeFromGroup, setShadowExpire, startTestHost, type Person, type TestHost } from "../../helpers/hosts";
import { openDirectory, runMembersCli, type DirectorySession } from "../../helpers/ldap";

/**
 * Logins on a host provisioned by hosts/: a Debian test host configured with exactly the rendered
 * files (sssd, sshd drop-in, keys command, sudoers, pam_group), against the directory container of
 * the rendered local stack. Who gets in, with which groups, and who is refused although their key is valid.
 */
describe.runIf(dockerAvailable())("logins on a provisioned host", () => {
  let stack: RunningStack;
  let host: TestHost;
  let directory: DirectorySession;
  const DAY = 86_400_000;
  const inAMonth = new Date(Date.now() + 30 * DAY);
  const people: Record<string, Person> = {};
  const person = (uid: string, uidNumber: number, groups: Person["groups"], accessEnd?: Date) =>
    (people[uid] = { uid, uidNumber, groups, accessEnd, sshPublicKey: "", password: `${uid}-directory-password-1` });
  // Active tech member; admin; plain member (access date set, but not in tech/admins); tech member whose
  // access ended yesterday and who is still in tech (the daily expire job has not run yet).
  const tess = person("tess", 20001, ["members", "tech"], inAMonth);
  const adam = person("adam", 20002, ["members", "admins"], inAMonth);
  const mona = person("mona", 20003, ["members"], inAMonth);
  const eddie = person("eddie", 20004, ["members", "tech"], new Date(Date.now() - DAY));
  // Active tech member taken out of tech during the test.
  const rita = person("rita", 20005, ["members", "tech"], inAMonth);
  // An active tech member whose directory uid is the name of the host's local connection account (sudo).
  const impostor: Person = {
    uid: "deploy",
    uidNumber: 20006,
    groups: ["members", "tech"],
    accessEnd: inAMonth,
    sshPublicKey: "",
    password: "deploy-directory-password-1",
  };

  // In tech, access end a month ahead, but shadowExpire passed yesterday: the known SSSD pitfall (added late,
  // after `members expire`, which must not see her).
  const sally = person("sally", 20007, ["members", "tech"], inAMonth);
  const KEYS_COMMAND = "/usr/local/sbin/directory-authorized-keys";
  const BOOTSTRAP = fs.readFileSync(path.resolve(__dirname, "../../../hosts/bootstrap.sh"), "utf8");

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
    const config = stack.rendered.config;
    host = await startTestHost(
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
    for (const p of Object.values(people)) p.sshPublicKey = await host.newKey(p.uid);
    await host.newKey("stranger");
    await addPeople(
      directory,
      Object.values(people).filter((p) => p !== sally),
    );
  });
  afterAll(async () => {
    await host?.remove();
    await stack?.teardown();
  });

  /** `id -nG` of a key login, or the refusal. */
  async function loginGroups(uid: string, key = uid): Promise<{ ok: boolean; groups: string[]; stderr: string }> {
    const result = await host.ssh(uid, key, "id -nG");
    return { ok: result.exitCode === 0, groups: result.stdout.trim().split(/\s+/), stderr: result.stderr };
  }

  /** Whether `uid` can run `id -u` as root with sudo, typing their directory password. */
  async function sudoAsRoot(uid: string): Promise<{ ok: boolean; output: string }> {
    const result = await host.ssh(uid, uid, `printf '%s\\n' '${people[uid].password}' | sudo -S -p '' id -u`);
    return { ok: result.exitCode === 0 && result.stdout.trim() === "0", output: result.stdout + result.stderr };
  }

  function scenarios(when: string) {
    it(`lets an active tech member in with their key, in the restricted Docker API's group and not the docker group (${when})`, async () => {
      const login = await loginGroups(tess.uid);
      expect(login.stderr).toBe("");
      expect(login.ok).toBe(true);
      expect(login.groups).toEqual(expect.arrayContaining(["tech", "docker-tech"]));
      expect(login.groups).not.toContain("docker");
    });

    it(`refuses sudo to a tech member (${when})`, async () => {
      const sudo = await sudoAsRoot(tess.uid);
      expect(sudo.ok).toBe(false);
      expect(sudo.output).toMatch(/not in the sudoers file|not allowed/);
    });

    it(`lets an admin in and gives them sudo with their directory password (${when})`, async () => {
      const login = await loginGroups(adam.uid);
      expect(login.ok).toBe(true);
      expect(login.groups).toEqual(expect.arrayContaining(["admins", "docker"]));
      expect(await sudoAsRoot(adam.uid)).toEqual({ ok: true, output: "0\n" });
    });

    it(`refuses a plain member although their key is in the directory (${when})`, async () => {
      expect((await loginGroups(mona.uid)).ok).toBe(false);
    });

    it(`refuses a tech member whose access end date has passed although their key is valid (${when})`, async () => {
      const login = await loginGroups(eddie.uid);
      expect(login.ok).toBe(false);
      expect(login.stderr).toContain("Permission denied (publickey)");
    });

    it(`refuses a key the directory does not know, even for an active member (${when})`, async () => {
      expect((await loginGroups(tess.uid, "stranger")).ok).toBe(false);
    });

    it(`refuses a password login, even with the right directory password (${when})`, async () => {
      const result = await host.exec([
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        `${tess.uid}@localhost`,
        "true",
      ]);
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
    });
  }

  describe("before the daily expire job", () => scenarios("before expire"));

  it("changes nothing when the setup script runs a second time, and logins still work", async () => {
    const installed = host.files.filter((f) => f.target).map((f) => f.target as string);
    const watched = [
      ...installed,
      "/etc/nsswitch.conf",
      "/etc/pam.d/common-auth",
      "/etc/pam.d/common-session",
      "/etc/passwd",
      "/etc/group",
    ];
    const state = async () => (await host.exec(["sha256sum", ...watched])).stdout;
    const before = await state();
    const second = await host.setup();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await state()).toBe(before);
    expect((await loginGroups(tess.uid)).ok).toBe(true);
  });

  it("gives no login to a directory uid that is a local account's name (deploy), and none to root", async () => {
    // The connection account, as hosts/bootstrap.sh makes it; then a tech member's entry with uid=deploy.
    expect((await host.exec(["useradd", "--create-home", "--shell", "/bin/bash", "deploy"])).exitCode).toBe(0);
    impostor.sshPublicKey = await host.newKey("directory-deploy");
    await addPeople(directory, [impostor]);
    const login = await host.ssh("deploy", "directory-deploy", "id -nG");
    expect(login.exitCode).not.toBe(0);
    expect(login.stderr).toContain("Permission denied (publickey)");
    // The keys command itself serves nothing for a local name, although the directory entry is an active tech member.
    const keys = await host.exec(["/usr/local/sbin/directory-authorized-keys", "deploy"]);
    expect(keys).toMatchObject({ exitCode: 0, stdout: "" });
    expect((await host.exec(["sh", "-c", "sshd -T | grep -i '^permitrootlogin'"])).stdout.trim()).toBe("permitrootlogin no");
  });

  it("refuses a member taken out of tech at their next login, although they just logged in", async () => {
    expect((await loginGroups(rita.uid)).ok).toBe(true);
    await removeFromGroup(directory, rita, "tech");
    expect((await loginGroups(rita.uid)).ok).toBe(false);
  });

  it("installs the files with the content rendered for the host (what the plan's hashes name)", async () => {
    for (const file of host.files.filter((f) => f.target)) {
      const installed = await host.exec(["cat", file.target as string]);
      expect(installed.stdout, file.target as string).toBe(file.content);
    }
  });

  it("installs an apt configuration that apt reads: daily lists refresh and security upgrades", async () => {
    const dump = await host.exec(["apt-config", "dump"]);
    expect(dump.exitCode, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(dump.stdout).toContain(
      'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
    );
  });

  describe("after `members expire` locked the ended accesses", () => {
    beforeAll(async () => {
      const expire = await runMembersCli(directory, ["expire"]);
      expect(expire.exitCode, expire.stderr).toBe(0);
      // Only the ended access changes: eddie out of tech, shadowExpire set, password locked.
      expect(expire.stdout).toMatch(new RegExp(`^${eddie.uid} \\(access ended [0-9-]+\\): removed from tech, shadowExpire set`, "m"));
      expect(expire.stdout).toContain("1 changed");
    });
    scenarios("after expire");
  });

  describe("with a permissive keys command (serves any directory key), so that only sssd's account checks decide", () => {
    const rendered = () => host.files.find((f) => f.target === KEYS_COMMAND)?.content ?? "";
    beforeAll(async () => {
      await addPeople(directory, [sally]);
      await setShadowExpire(directory, sally, Math.floor(Date.now() / DAY) - 1);
      // The rendered command with its group/end-date filter and its shadowExpire check taken out.
      const permissive = rendered()
        .replace(/^filter=.*$/m, 'filter="(&(objectClass=posixAccount)(uid=$user))"')
        .replace(/^if \[ -n "\$expire" \].*$/m, "");
      expect(permissive).not.toMatch(/memberOf|today" -ge/);
      const install = await host.exec(["sh", "-c", `cat > ${KEYS_COMMAND}`], { input: permissive });
      expect(install.exitCode, install.stderr).toBe(0);
    });
    afterAll(async () => {
      await host.exec(["sh", "-c", `cat > ${KEYS_COMMAND}`], { input: rendered() });
    });

    it("sssd refuses a tech member whose shadowExpire has passed while the keys command would still serve the key (access end still ahead)", async () => {
      const served = await host.exec([KEYS_COMMAND, sally.uid]);
      expect(served.stdout.trim()).toBe(sally.sshPublicKey);
      const login = await loginGroups(sally.uid);
      expect(login.ok).toBe(false);
      // The refusal is sssd's, in PAM's account phase, after the key was accepted.
      expect(await host.logs()).toMatch(new RegExp(`Access denied for user ${sally.uid} by PAM account configuration`));
    });

    it("sssd refuses a plain member (not in tech or admins) whose key the keys command serves", async () => {
      expect((await host.exec([KEYS_COMMAND, mona.uid])).stdout.trim()).toBe(mona.sshPublicKey);
      expect((await loginGroups(mona.uid)).ok).toBe(false);
      expect(await host.logs()).toMatch(new RegExp(`Access denied for user ${mona.uid} by PAM account configuration`));
    });

    it("still lets an active tech member in (the permissive host refuses only whom sssd refuses)", async () => {
      const login = await loginGroups(tess.uid);
      expect(login.stderr).toBe("");
      expect(login.ok).toBe(true);
    });
  });

  describe("with the directory container stopped", () => {
    beforeAll(async () => {
      // The connection account as hosts/bootstrap.sh makes it (its key, passwordless sudo).
      const deployKey = await host.newKey("deploy-local");
      const bootstrap = await host.exec(["sh", "-s", "--", "deploy", deployKey], { input: BOOTSTRAP });
      expect(bootstrap.exitCode, bootstrap.stderr).toBe(0);
      // tess and adam log in just before: sssd holds them in its cache when the directory goes away.
      expect((await loginGroups(tess.uid)).ok).toBe(true);
      expect((await loginGroups(adam.uid)).ok).toBe(true);
      await stack.stop("ldap");
    });

    it("refuses every directory login, also of members who logged in a minute ago and are still in sssd's cache", async () => {
      // sssd still knows tess offline (its cache): the refusal is not "unknown user".
      expect((await host.exec(["getent", "passwd", tess.uid])).exitCode).toBe(0);
      for (const uid of [tess.uid, adam.uid]) {
        const login = await loginGroups(uid);
        expect(login.ok, uid).toBe(false);
        expect(login.stderr, uid).toContain("Permission denied (publickey)");
      }
    });

    it("keeps local admin access: the connection account logs in with its key and sudo works", async () => {
      const login = await host.ssh("deploy", "deploy-local", "sudo -n id -u");
      expect(login.stderr).toBe("");
      expect(login).toMatchObject({ exitCode: 0, stdout: "0\n" });
    });
  });
});
