import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { firewallPorts, renderHostFiles, type HostFile, type HostRenderInput } from "../../../hosts/render";
import { MailSettings } from "../../../mail/settings";
import type { StackConfig } from "../../../stacks/schema";

const input: HostRenderInput = {
  baseDn: "dc=asso,dc=example,dc=org",
  directoryUrl: "ldaps://ldap.asso.example.org:636",
  localUsers: ["deploy"],
  firewall: [
    { port: 22, purpose: "ssh" },
    { port: 80, purpose: "http" },
    { port: 443, purpose: "https" },
  ],
};

function fileOf(name: string, files: HostFile[] = renderHostFiles(input)): HostFile {
  const file = files.find((f) => f.name === name);
  if (!file) throw new Error(`no rendered file ${name}`);
  return file;
}

/** Settings lines of an ini/ssh-style file: comments and blank lines left out. */
function settings(content: string): string[] {
  return content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hosts-unit-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe("rendered host files", () => {
  it("leaves no placeholder unfilled in any file", () => {
    for (const file of renderHostFiles(input)) expect(file.content, file.name).not.toMatch(/\{\{\w+\}\}/);
  });

  it("renders shell scripts that pass shellcheck", () => {
    for (const name of ["setup.sh", "install-bind-password.sh", "directory-authorized-keys"]) {
      const file = path.join(scratch, name);
      fs.writeFileSync(file, fileOf(name).content);
      const result = spawnSync("shellcheck", ["-s", "sh", file], { encoding: "utf8" });
      expect(result.stdout + result.stderr, name).toBe("");
      expect(result.status, name).toBe(0);
    }
  });

  it("turns password logins off for everyone and takes directory members' keys from the directory only", () => {
    const sshd = settings(fileOf("sshd-directory-logins.conf").content);
    expect(sshd).toEqual(
      expect.arrayContaining([
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AuthorizedKeysCommand /usr/local/sbin/directory-authorized-keys %u",
        "AuthorizedKeysCommandUser directory-keys",
        "AuthorizedKeysFile none",
      ]),
    );
    // Only the connection user keeps a key file, inside its own Match block at the end.
    expect(sshd.slice(-2)).toEqual(["Match User deploy", "AuthorizedKeysFile .ssh/authorized_keys"]);
  });

  it("lets sssd admit only tech and admins members whose account has not expired", () => {
    const sssd = settings(fileOf("sssd.conf").content);
    expect(sssd).toEqual(
      expect.arrayContaining([
        "ldap_uri = ldaps://ldap.asso.example.org:636",
        "ldap_tls_reqcert = demand",
        "ldap_default_bind_dn = cn=hosts,ou=services,dc=asso,dc=example,dc=org",
        "access_provider = ldap",
        "ldap_access_order = filter, expire",
        "ldap_access_filter = (|(memberOf=cn=tech,ou=groups,dc=asso,dc=example,dc=org)(memberOf=cn=admins,ou=groups,dc=asso,dc=example,dc=org))",
        "ldap_account_expire_policy = shadow",
        "ldap_tls_cacert = /etc/ssl/certs/ca-certificates.crt",
      ]),
    );
    // The password is installed apart (install-bind-password.sh), never in the shipped file.
    expect(sssd.some((line) => line.startsWith("ldap_default_authtok ="))).toBe(false);
  });

  it("trusts the directory's own CA when one is given", () => {
    const files = renderHostFiles({ ...input, directoryCaCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" });
    expect(fileOf("directory-ca.crt", files)).toMatchObject({
      target: "/etc/infra-host/directory-ca.crt",
      content: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    });
    expect(settings(fileOf("sssd.conf", files).content)).toContain("ldap_tls_cacert = /etc/infra-host/directory-ca.crt");
    expect(fileOf("directory-authorized-keys", files).content).toContain("LDAPTLS_CACERT='/etc/infra-host/directory-ca.crt'");
  });

  it("gives sudo and the docker group (the whole engine) to the admins only, the restricted API's group to tech", () => {
    expect(settings(fileOf("sudoers-admins").content)).toEqual(["%admins ALL=(ALL:ALL) ALL"]);
    expect(settings(fileOf("group.conf").content)).toEqual(["*;*;%tech;Al0000-2400;docker-tech", "*;*;%admins;Al0000-2400;docker"]);
  });

  it("serves the tech group's Docker API on a socket of group docker-tech only (mode 660), with haproxy from Debian", () => {
    expect(fileOf("docker-tech-api.cfg").target).toBe("/etc/haproxy/haproxy.cfg");
    expect(settings(fileOf("docker-tech-api.cfg").content)).toContain("bind unix@/run/docker-tech.sock mode 660 group docker-tech");
    expect(fileOf("docker-tech-api.sh").content).toContain("DOCKER_HOST=unix:///run/docker-tech.sock");
  });

  it("opens only the given ports, in a table of its own that leaves Docker's rules alone", () => {
    const nft = fileOf("nftables.conf").content;
    expect(nft).toContain("tcp dport { 22, 80, 443 } accept");
    expect(nft).toContain("policy drop;");
    // Docker's published ports (DNAT) are checked before Docker rewrites them.
    expect(nft).toContain("type filter hook prerouting priority mangle; policy accept;");
    expect(settings(nft).filter((line) => line.startsWith("flush"))).toEqual([]);
  });

  it("installs security updates unattended", () => {
    const apt = fileOf("unattended-upgrades.conf").content;
    expect(apt).toContain('APT::Periodic::Unattended-Upgrade "1";');
    expect(apt).toContain('"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";');
  });

  it("installs every file that has a target from the setup script, with its mode", () => {
    const files = renderHostFiles(input);
    const setup = fileOf("setup.sh", files).content;
    for (const file of files.filter((f) => f.target)) {
      expect(setup).toContain(`install_file ${file.name} ${file.target} ${file.mode}`);
    }
    expect(setup).not.toContain("install_file setup.sh");
  });
});

describe("firewall ports from the stack", () => {
  const stack = (docker: string, services: Record<string, unknown>, directoryClients?: string[]) =>
    ({ docker, services, provisioning: directoryClients && { directoryClients } }) as unknown as Pick<
      StackConfig,
      "docker" | "services" | "provisioning"
    >;

  it("opens SSH on the port of the stack's ssh:// address, and HTTP(S)", () => {
    expect(firewallPorts(stack("ssh://deploy@host.example.org:2222", { proxy: {} })).map((p) => p.port)).toEqual([80, 443, 2222]);
  });

  it("opens the ports the mail settings publish, not the address they bind", () => {
    const ports = { smtp: 25, submissions: 465, submission: 587, imaps: 993, managesieve: 4190, address: "203.0.113.12" };
    const opened = firewallPorts(stack("ssh://deploy@host.example.org", { proxy: {}, mail: { ports: { ...ports, imaps: 9993 } } }));
    expect(opened).toContainEqual({ port: 9993, purpose: "imaps" });
    expect(opened.map((p) => p.port)).not.toContain(993);
  });

  it("opens the published LDAPS port to the listed hosts only, and not at all when none is listed", () => {
    const ldap = { publishLdaps: true };
    expect(firewallPorts(stack("ssh://deploy@pica02.example.org", { proxy: {}, ldap }, ["203.0.113.11"]))).toContainEqual({
      port: 636,
      purpose: "ldaps (other hosts' sssd)",
      from: ["203.0.113.11"],
    });
    expect(firewallPorts(stack("ssh://deploy@pica02.example.org", { proxy: {}, ldap }, [])).map((p) => p.port)).not.toContain(636);
    expect(
      firewallPorts(stack("ssh://deploy@pica02.example.org", { proxy: {}, ldap: {} }, ["203.0.113.11"])).map((p) => p.port),
    ).not.toContain(636);
  });

  it("renders a source-restricted port as its own rule, apart from the ports open to anyone", () => {
    const nft = fileOf(
      "nftables.conf",
      renderHostFiles({ ...input, firewall: [...input.firewall, { port: 636, purpose: "ldaps", from: ["203.0.113.11"] }] }),
    ).content;
    expect(settings(nft)).toEqual(
      expect.arrayContaining(["tcp dport { 22, 80, 443 } accept", "ip saddr { 203.0.113.11 } tcp dport 636 accept"]),
    );
  });

  it("opens the mail ports only on the host that runs mail", () => {
    expect(firewallPorts(stack("ssh://deploy@host.example.org", { proxy: {}, mail: MailSettings.parse({}) })).map((p) => p.port)).toEqual([
      22, 25, 80, 443, 465, 587, 993, 4190,
    ]);
    expect(firewallPorts(stack("ssh://deploy@host.example.org", { proxy: {} })).map((p) => p.port)).toEqual([22, 80, 443]);
  });
});

/**
 * The keys command run against a stand-in `ldapsearch` (first on PATH) that prints a canned LDIF entry and
 * records the filter it was given: what sshd gets back for each kind of answer from the directory.
 */
describe("directory-authorized-keys", () => {
  const bin = path.join(scratch, "bin");
  const script = path.join(scratch, "directory-authorized-keys");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(script, fileOf("directory-authorized-keys").content, { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, "ldapsearch"),
    '#!/bin/sh\nprintf "%s\\n" "$*" > "$LDAP_ARGS"\n[ -n "${LDAP_FAIL:-}" ] && exit 1\ncat "$LDAP_ANSWER"\n',
    { mode: 0o755 },
  );

  function keysFor(user: string, answer: string, env: Record<string, string> = {}) {
    const answerFile = path.join(scratch, "answer.ldif");
    const argsFile = path.join(scratch, "args.txt");
    fs.writeFileSync(answerFile, answer);
    fs.rmSync(argsFile, { force: true });
    const stdout = execFileSync("sh", [script, user], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LDAP_ANSWER: answerFile, LDAP_ARGS: argsFile, ...env },
    });
    return { stdout, args: fs.existsSync(argsFile) ? fs.readFileSync(argsFile, "utf8") : null };
  }

  const dn = "dn: uid=alice,ou=people,dc=asso,dc=example,dc=org\n";
  const key1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOne alice@laptop";
  const key2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyTwo alice@phone";

  it("asks for members of tech or admins whose access end date is still ahead", () => {
    const { args } = keysFor("alice", "");
    expect(args).toMatch(
      /\(&\(objectClass=posixAccount\)\(uid=alice\)\(\|\(memberOf=cn=tech,ou=groups,dc=asso,dc=example,dc=org\)\(memberOf=cn=admins,ou=groups,dc=asso,dc=example,dc=org\)\)\(assoAccessEnd>=\d{14}Z\)\)/,
    );
    expect(args).toContain("-H ldaps://ldap.asso.example.org:636");
  });

  it("prints the keys of the member the directory returns, plain or base64-encoded", () => {
    const answer = `${dn}sshPublicKey: ${key1}\nsshPublicKey:: ${Buffer.from(key2).toString("base64")}\n`;
    expect(keysFor("alice", answer).stdout).toBe(`${key1}\n${key2}\n`);
  });

  it("prints nothing when the directory returns no entry (access ended, not in tech or admins, unknown)", () => {
    expect(keysFor("alice", "").stdout).toBe("");
  });

  it("prints nothing when the account has expired (shadowExpire today or earlier)", () => {
    const today = Math.floor(Date.now() / 86_400_000);
    expect(keysFor("alice", `${dn}sshPublicKey: ${key1}\nshadowExpire: ${today}\n`).stdout).toBe("");
    expect(keysFor("alice", `${dn}sshPublicKey: ${key1}\nshadowExpire: ${today + 30}\n`).stdout).toBe(`${key1}\n`);
  });

  it("prints nothing when the directory cannot be asked (fails closed)", () => {
    expect(keysFor("alice", `${dn}sshPublicKey: ${key1}\n`, { LDAP_FAIL: "1" }).stdout).toBe("");
  });

  it.each(["alice)(uid=*", "*", "Alice", "", "-alice"])("never puts the user name %j into a filter", (user) => {
    const { stdout, args } = keysFor(user, `${dn}sshPublicKey: ${key1}\n`);
    expect(stdout).toBe("");
    expect(args).toBeNull();
  });
});
