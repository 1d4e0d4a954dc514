import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Attribute, Change, type Client } from "ldapts";
import { renderHostFiles, type HostFile, type HostRenderInput } from "../../hosts/render";
import { docker, dockerOk, type ExecResult } from "./docker";
import type { RunningStack } from "./harness";
import type { DirectorySession } from "./ldap";

/**
 * A Debian host for the hosts/ integration tests: the hosts/test-host image on the stack's `directory`
 * network, configured with exactly the files hosts/render.ts renders, installed by the rendered
 * setup.sh (the steps that make sense in a container) and install-bind-password.sh. It is test
 * infrastructure, not a stack container, so it is started here rather than through the harness.
 */

const REPO_ROOT = path.resolve(__dirname, "../..");
const IMAGE = "infra-test-host:test";

/**
 * sshd and sssd run as root and switch to the logged-in user; sudo must work for admins, so no
 * no-new-privileges either. Every other capability stays dropped.
 */
const CAPABILITIES = {
  CHOWN: "sshd and pam_mkhomedir give a new home to its user",
  DAC_OVERRIDE: "root daemons read files of other owners (sssd caches, home directories)",
  FOWNER: "pam_mkhomedir sets modes on files it creates for the user",
  SETUID: "sshd and sudo switch to the user / to root",
  SETGID: "sshd and sudo set the user's groups (docker via pam_group)",
  SYS_CHROOT: "sshd's privilege separation chroots to /run/sshd",
  AUDIT_WRITE: "sshd and sudo write login records through PAM",
  KILL: "sshd signals its session children",
};

/** Setup steps that apply inside a container: no packages (baked in the image), no firewall, no systemd. */
const CONTAINER_STEPS = ["accounts", "files", "pam"];

export interface TestHost {
  name: string;
  files: HostFile[];
  exec(cmd: string[], options?: { input?: string; user?: string }): Promise<ExecResult>;
  /** Run `command` over SSH as `user` with the private key /keys/<key> (inside the test host, to localhost). */
  ssh(user: string, key: string, command: string): Promise<ExecResult>;
  /** Run the rendered setup script again, with the steps that apply in a container. */
  setup(): Promise<ExecResult>;
  /** Make an ed25519 key pair /keys/<name>; returns the public key line. */
  newKey(name: string): Promise<string>;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

let imageBuilt: Promise<string> | undefined;
function buildTestHostImage(): Promise<string> {
  imageBuilt ??= dockerOk(["build", "-q", "-t", IMAGE, path.join(REPO_ROOT, "hosts/test-host")], { timeoutMs: 900_000 });
  return imageBuilt;
}

/** Render the host files for `input`, start the test host on the stack's directory network, configure it. */
export async function startTestHost(stack: RunningStack, input: HostRenderInput, bindPassword: string): Promise<TestHost> {
  await buildTestHostImage();
  const name = `${stack.prefix}test-host`;
  const files = renderHostFiles(input);
  await dockerOk([
    "run",
    "-d",
    "--name",
    name,
    "--hostname",
    "test-host",
    "--network",
    `${stack.prefix}directory`,
    "--memory",
    "256m",
    "--cap-drop",
    "ALL",
    ...Object.keys(CAPABILITIES).flatMap((cap) => ["--cap-add", cap]),
    IMAGE,
  ]);
  const host = testHost(name, files);
  try {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "test-host-"));
    for (const file of files) fs.writeFileSync(path.join(staging, file.name), file.content);
    await dockerOk(["cp", `${staging}/.`, `${name}:/staging`]);
    fs.rmSync(staging, { recursive: true, force: true });
    await execOk(host, ["sh", "/staging/setup.sh", "/staging", ...CONTAINER_STEPS]);
    await execOk(host, ["sh", "/staging/install-bind-password.sh"], bindPassword);
    await execOk(host, ["touch", "/staging/.ready"]);
    await waitFor(
      async () => (await host.exec(["sh", "-c", "pgrep -x sshd && test -S /var/lib/sss/pipes/nss"])).exitCode === 0,
      "sshd and sssd",
      host,
    );
    await execOk(host, ["mkdir", "-m", "0700", "-p", "/keys"]);
  } catch (error) {
    const logs = await host.logs();
    await host.remove();
    throw new Error(`${(error as Error).message}\ntest host logs:\n${logs}`);
  }
  return host;
}

function testHost(name: string, files: HostFile[]): TestHost {
  const exec: TestHost["exec"] = (cmd, options = {}) =>
    docker(["exec", ...(options.input !== undefined ? ["-i"] : []), ...(options.user ? ["-u", options.user] : []), name, ...cmd], {
      input: options.input,
    });
  return {
    name,
    files,
    exec,
    ssh: (user, key, command) =>
      exec([
        "ssh",
        "-i",
        `/keys/${key}`,
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "PreferredAuthentications=publickey",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        `${user}@localhost`,
        command,
      ]),
    setup: () => exec(["sh", "/staging/setup.sh", "/staging", ...CONTAINER_STEPS]),
    newKey: async (key) => {
      await execOk({ exec }, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", `/keys/${key}`]);
      return (await execOk({ exec }, ["cat", `/keys/${key}.pub`])).trim();
    },
    logs: async () => {
      const result = await docker(["logs", "--tail", "80", name]);
      return result.stdout + result.stderr;
    },
    remove: async () => {
      await docker(["rm", "-f", "-v", name]);
    },
  };
}

async function execOk(host: Pick<TestHost, "exec">, cmd: string[], input?: string): Promise<string> {
  const result = await host.exec(cmd, { input });
  if (result.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${result.exitCode}): ${result.stderr}${result.stdout}`);
  return result.stdout;
}

async function waitFor(check: () => Promise<boolean>, what: string, host: TestHost, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`test host: ${what} not up after ${timeoutMs} ms; logs:\n${await host.logs()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A person of the directory, as the tests need them (docs/contracts.md, ou=people). */
export interface Person {
  uid: string;
  uidNumber: number;
  groups: ("members" | "tech" | "admins")[];
  /** assoAccessEnd; none when undefined. */
  accessEnd?: Date;
  sshPublicKey: string;
  password: string;
}

/** GeneralizedTime as the directory stores it: 20261128000000Z. */
export function generalizedTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:T]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

/**
 * Load a rendered nftables.conf twice in a throw-away container of its own (own network namespace,
 * NET_ADMIN only there) and return `nft list ruleset`: what the host's firewall would hold.
 */
export async function loadFirewall(nftablesConf: string): Promise<ExecResult> {
  await buildTestHostImage();
  return docker(
    [
      "run",
      "--rm",
      "-i",
      "--network",
      "none",
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_ADMIN",
      IMAGE,
      "sh",
      "-c",
      "cat > /tmp/nftables.conf && nft -f /tmp/nftables.conf && nft -f /tmp/nftables.conf && nft list ruleset",
    ],
    { input: nftablesConf },
  );
}

/**
 * Which TCP ports of a firewalled host a neighbour can open. The host (own network namespace, NET_ADMIN
 * there only) loads the rendered ruleset, runs sshd on `listen` ports, and stands in for Docker's port
 * publishing with NAT redirects (published port -> sshd port) at Docker's priority. A second container on
 * the same network then tries each port with ssh-keyscan.
 */
export async function probeFirewall(
  /** The ruleset to load, given the subnet of the network the neighbour is on. */
  nftablesConf: (neighbourSubnet: string) => string,
  options: { listen: number[]; published: Record<number, number>; probe: number[] },
): Promise<Record<number, "open" | "closed">> {
  await buildTestHostImage();
  const id = Math.random().toString(16).slice(2, 8);
  const network = `fw${id}`;
  const target = `fw${id}-host`;
  const redirects = Object.entries(options.published)
    .map(([from, to]) => `nft add rule ip dockerlike prerouting tcp dport ${from} redirect to :${to}`)
    .join(" && ");
  await dockerOk(["network", "create", network]);
  const subnet = (await dockerOk(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", network])).trim();
  const script = [
    'printf "%s" "$RULESET" > /tmp/nftables.conf',
    "nft -f /tmp/nftables.conf",
    "nft add table ip dockerlike",
    "nft add chain ip dockerlike prerouting '{ type nat hook prerouting priority dstnat; }'",
    redirects || "true",
    `exec /usr/sbin/sshd -D -e ${options.listen.map((p) => `-p ${p}`).join(" ")}`,
  ].join(" && ");
  try {
    await dockerOk([
      "run",
      "-d",
      "--name",
      target,
      "--network",
      network,
      "--env",
      `RULESET=${nftablesConf(subnet)}`,
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_ADMIN",
      "--cap-add",
      "SYS_CHROOT",
      "--cap-add",
      "SETUID",
      "--cap-add",
      "SETGID",
      IMAGE,
      "sh",
      "-c",
      script,
    ]);
    const probe = options.probe
      .map((p) => `if ssh-keyscan -T 3 -p ${p} ${target} 2>/dev/null | grep -q ssh-; then echo "${p} open"; else echo "${p} closed"; fi`)
      .join("; ");
    // Wait for sshd on the first listening port (always allowed in these scenarios), then probe.
    const wait = `for i in $(seq 50); do ssh-keyscan -T 1 -p ${options.listen[0]} ${target} 2>/dev/null | grep -q ssh- && break; sleep 0.2; done`;
    const result = await dockerOk(["run", "--rm", "--network", network, "--cap-drop", "ALL", IMAGE, "sh", "-c", `${wait}; ${probe}`]);
    return Object.fromEntries(
      result
        .trim()
        .split("\n")
        .map((line) => line.split(" "))
        .map(([port, state]) => [Number(port), state as "open" | "closed"]),
    );
  } catch (error) {
    const logs = await docker(["logs", target]);
    throw new Error(`${(error as Error).message}\nfirewalled host logs:\n${logs.stdout}${logs.stderr}`);
  } finally {
    await docker(["rm", "-f", target]);
    await docker(["network", "rm", network]);
  }
}

/**
 * Whether a neighbour reaches a container behind a firewalled host, over IPv4 and IPv6. Three containers of
 * the test-host image: the host (its own namespace, forwarding on, NET_ADMIN there only) on the neighbour's
 * network and on a container network, where it is the router; the "container" on that network running sshd
 * on 22; the neighbour, which routes the container network through the host (as anyone on the same LAN
 * can) and tries the container's addresses directly. `nftablesConf` is loaded on the host first.
 * `published` (host port -> container port) stands in for Docker's publishing: a DNAT to the container at
 * Docker's priority, probed on the host's address as `published<port>`. The host also masquerades what it
 * DNATs, so that the container answers through it on the test engine (a real host's containers answer
 * through the host anyway); the filter chains run before that.
 */
export async function probeForwarding(
  nftablesConf: string,
  published: Record<number, number> = {},
): Promise<Record<string, "open" | "closed">> {
  await buildTestHostImage();
  const id = Math.random().toString(16).slice(2, 8);
  const outside = `fw${id}-lan`;
  const inside = `fw${id}-containers`;
  const router = `fw${id}-host`;
  const container = `fw${id}-container`;
  const v6 = (n: number) => `fd00:${parseInt(id.slice(0, 4), 16).toString(16)}:${n}::/64`;
  const address = async (name: string, network: string, field: "IPAddress" | "GlobalIPv6Address") =>
    (await dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").${field}}}`, name])).trim();
  const subnets = async (network: string) =>
    (await dockerOk(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", network])).trim().split(" ");
  const run = (name: string, network: string, extra: string[], cmd: string[]) =>
    dockerOk(["run", "-d", "--name", name, "--network", network, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", ...extra, IMAGE, ...cmd]);
  try {
    await dockerOk(["network", "create", "--ipv6", "--subnet", v6(1), outside]);
    await dockerOk(["network", "create", "--ipv6", "--subnet", v6(2), inside]);
    const [outside4, outside6] = await subnets(outside);
    const [inside4, inside6] = await subnets(inside);
    await run(
      container,
      inside,
      ["--cap-add", "SYS_CHROOT", "--cap-add", "SETUID", "--cap-add", "SETGID"],
      ["/usr/sbin/sshd", "-D", "-e", "-p", "22"],
    );
    await run(router, outside, ["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "net.ipv6.conf.all.forwarding=1"], ["sleep", "infinity"]);
    await dockerOk(["network", "connect", inside, router]);
    const container4 = await address(container, inside, "IPAddress");
    const container6 = await address(container, inside, "GlobalIPv6Address");
    const [router4, router6] = [await address(router, outside, "IPAddress"), await address(router, outside, "GlobalIPv6Address")];
    const [routerIn4, routerIn6] = [await address(router, inside, "IPAddress"), await address(router, inside, "GlobalIPv6Address")];
    // The container answers through the host (on a real host its bridge's gateway is the host itself).
    await dockerOk([
      "exec",
      container,
      "sh",
      "-c",
      `ip route add ${outside4} via ${routerIn4} && ip -6 route add ${outside6} via ${routerIn6}`,
    ]);
    await dockerOk([
      "exec",
      "--env",
      `RULESET=${nftablesConf}`,
      router,
      "sh",
      "-c",
      'printf "%s" "$RULESET" > /tmp/nftables.conf && nft -f /tmp/nftables.conf',
    ]);
    const dnat = Object.entries(published).map(
      ([from, to]) => `nft add rule ip dockerlike prerouting tcp dport ${from} dnat to ${container4}:${to}`,
    );
    if (dnat.length > 0) {
      await dockerOk([
        "exec",
        router,
        "sh",
        "-c",
        [
          "nft add table ip dockerlike",
          "nft add chain ip dockerlike prerouting '{ type nat hook prerouting priority dstnat; }'",
          ...dnat,
          "nft add chain ip dockerlike postrouting '{ type nat hook postrouting priority srcnat; }'",
          `nft add rule ip dockerlike postrouting ip daddr ${container4} masquerade`,
        ].join(" && "),
      ]);
    }
    const probe = (host: string, port: number, label: string) =>
      `if ssh-keyscan -T 3 -p ${port} ${host} 2>/dev/null | grep -q ssh-; then echo "${label} open"; else echo "${label} closed"; fi`;
    const script = [
      `ip route add ${inside4} via ${router4}`,
      `ip -6 route add ${inside6} via ${router6}`,
      probe(container4, 22, "direct4"),
      probe(container6, 22, "direct6"),
      ...Object.keys(published).map((port) => probe(router4, Number(port), `published${port}`)),
    ].join("; ");
    // sshd in the container is up (asked from the host itself, which the forward chain does not filter).
    await dockerOk([
      "exec",
      router,
      "sh",
      "-c",
      `for i in $(seq 50); do ssh-keyscan -T 1 ${container4} 2>/dev/null | grep -q ssh- && exit 0; sleep 0.2; done; exit 1`,
    ]);
    const result = await dockerOk([
      "run",
      "--rm",
      "--network",
      outside,
      "--cap-drop",
      "ALL",
      "--cap-add",
      "NET_ADMIN",
      IMAGE,
      "sh",
      "-c",
      script,
    ]);
    return Object.fromEntries(
      result
        .trim()
        .split("\n")
        .map((line) => line.split(" ")),
    ) as Record<string, "open" | "closed">;
  } finally {
    await docker(["rm", "-f", router, container]);
    await docker(["network", "rm", outside]);
    await docker(["network", "rm", inside]);
  }
}

/**
 * Run the rendered setup.sh with every step, as on a production host, in a throw-away container of the
 * test-host image: apt-get and systemctl are stand-ins that record their calls (no systemd, no package
 * downloads in a test), everything else is real, nft included (NET_ADMIN in its own namespace).
 * Returns the script's result, the recorded calls, the loaded ruleset and the output of `inspect` (a shell
 * command run afterwards, to look at the container's files).
 */
export async function runFullSetup(
  files: HostFile[],
  inspect = "true",
): Promise<{ result: ExecResult; calls: string[]; ruleset: string; inspected: string }> {
  await buildTestHostImage();
  const name = `setup${Math.random().toString(16).slice(2, 8)}`;
  const stub = (command: string) =>
    `printf '#!/bin/sh\\necho "${command} $*" >> /tmp/calls\\n' > /usr/local/bin/${command} && chmod 755 /usr/local/bin/${command}`;
  await dockerOk([
    "run",
    "-d",
    "--name",
    name,
    "--network",
    "none",
    "--cap-drop",
    "ALL",
    ...["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "NET_ADMIN"].flatMap((cap) => ["--cap-add", cap]),
    "--entrypoint",
    "sleep",
    IMAGE,
    "infinity",
  ]);
  try {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "setup-"));
    for (const file of files) fs.writeFileSync(path.join(staging, file.name), file.content);
    await dockerOk(["cp", `${staging}/.`, `${name}:/staging`]);
    fs.rmSync(staging, { recursive: true, force: true });
    await dockerOk(["exec", name, "sh", "-c", `${stub("apt-get")} && ${stub("systemctl")}`]);
    const result = await docker(["exec", name, "sh", "/staging/setup.sh", "/staging"]);
    const calls = (await docker(["exec", name, "cat", "/tmp/calls"])).stdout.trim().split("\n");
    const ruleset = (await docker(["exec", name, "nft", "list", "ruleset"])).stdout;
    const inspected = (await docker(["exec", name, "sh", "-c", inspect])).stdout;
    return { result, calls, ruleset, inspected };
  } finally {
    await docker(["rm", "-f", name]);
  }
}

/**
 * A brand-new Debian host as a provider hands it over: sshd running with its own host keys, root logging
 * in with the key `/keys/admin` (made here), nothing else configured. For the bootstrap scenarios.
 */
export async function startBareHost(): Promise<TestHost> {
  await buildTestHostImage();
  const name = `bare${Math.random().toString(16).slice(2, 8)}`;
  await dockerOk([
    "run",
    "-d",
    "--name",
    name,
    "--hostname",
    "bare-host",
    "--network",
    "none",
    "--memory",
    "256m",
    "--cap-drop",
    "ALL",
    ...Object.keys(CAPABILITIES).flatMap((cap) => ["--cap-add", cap]),
    "--entrypoint",
    "/usr/sbin/sshd",
    IMAGE,
    "-D",
    "-e",
  ]);
  const host = testHost(name, []);
  try {
    await execOk(host, [
      "sh",
      "-c",
      "install -d -m 0700 /keys /root/.ssh && ssh-keygen -q -t ed25519 -N '' -C admin -f /keys/admin && cp /keys/admin.pub /root/.ssh/authorized_keys",
    ]);
    await waitFor(async () => (await host.ssh("root", "admin", "true")).exitCode === 0, "sshd", host);
  } catch (error) {
    await host.remove();
    throw error;
  }
  return host;
}

/** Run `use` with a client bound as the directory admin (LDAPS, checking the directory's certificate). */
async function asDirectoryAdmin(directory: DirectorySession, use: (client: Client) => Promise<void>): Promise<void> {
  const client = await directory.bound(directory.adminDn, directory.adminPassword);
  try {
    await use(client);
  } finally {
    await client.unbind();
  }
}

/** Add people to ou=people and to their groups, as the directory admin (with their SSH key and end date). */
export async function addPeople(directory: DirectorySession, people: Person[]): Promise<void> {
  await asDirectoryAdmin(directory, async (client) => {
    for (const person of people) {
      await client.add(directory.peopleDn(person.uid), {
        objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "ldapPublicKey", "assoMember"],
        uid: person.uid,
        cn: person.uid,
        sn: person.uid,
        mail: `${person.uid}@example.org`,
        uidNumber: String(person.uidNumber),
        gidNumber: "10000",
        homeDirectory: `/home/${person.uid}`,
        loginShell: "/bin/bash",
        userPassword: person.password,
        sshPublicKey: person.sshPublicKey,
        assoPersonType: "physical",
        ...(person.accessEnd ? { assoAccessEnd: generalizedTime(person.accessEnd) } : {}),
      });
      for (const group of person.groups) await changeMembership(client, directory, "add", person.uid, group);
    }
  });
}

/** Take a person out of a group now (what `members revoke-tech` does). */
export async function removeFromGroup(directory: DirectorySession, person: Person, group: Person["groups"][number]): Promise<void> {
  await asDirectoryAdmin(directory, (client) => changeMembership(client, directory, "delete", person.uid, group));
}

/**
 * Set a person's shadowExpire (days since 1970-01-01) as the directory admin: what `members expire` writes,
 * here without its other changes (group, password), so that a scenario isolates sssd's expire check.
 */
export async function setShadowExpire(directory: DirectorySession, person: Person, day: number): Promise<void> {
  await asDirectoryAdmin(directory, (client) =>
    client.modify(directory.peopleDn(person.uid), [
      new Change({ operation: "replace", modification: new Attribute({ type: "shadowExpire", values: [String(day)] }) }),
    ]),
  );
}

async function changeMembership(
  client: Client,
  directory: DirectorySession,
  operation: "add" | "delete",
  uid: string,
  group: string,
): Promise<void> {
  await client.modify(`cn=${group},ou=groups,${directory.baseDn}`, [
    new Change({ operation, modification: new Attribute({ type: "member", values: [directory.peopleDn(uid)] }) }),
  ]);
}
