import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../stacks/schema";
import { renderStack, type RenderedResource, type RenderedStack } from "../../../stacks/render";
import { provisioningLines, provisioningSummary } from "../../../hosts/summary";
import { sha256 } from "../../../hosts/render";
import { renderVariant, stackVariant, type StackFileConfig } from "../../helpers/rendered";

const COPY = "command:remote:CopyToRemote";
const COMMAND = "command:remote:Command";

function remoteResources(rendered: RenderedStack): RenderedResource[] {
  return rendered.resources.filter((r) => r.type === COPY || r.type === COMMAND);
}

/** Resource name -> its triggers, for every copy and command of a rendered stack. */
function triggersOf(rendered: RenderedStack): Record<string, unknown[]> {
  return Object.fromEntries(remoteResources(rendered).map((r) => [r.name, r.inputs.triggers]));
}

function changedTriggers(before: RenderedStack, after: RenderedStack): string[] {
  const a = triggersOf(before);
  const b = triggersOf(after);
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  return Object.keys(a)
    .filter((name) => JSON.stringify(a[name]) !== JSON.stringify(b[name]))
    .sort();
}

/**
 * pica01 runs the web apps and the monitoring agent, whose port is open to pica02 only; pica02 the mail server
 * and the directory, published to pica01 only.
 */
const FIREWALL: Record<string, number[]> = {
  // The monitoring agent's node, Redis and PostgreSQL exporters, open to pica02 only.
  pica01: [22, 80, 443, 9100, 9121, 9187],
  pica02: [22, 25, 80, 443, 465, 587, 636, 993, 4190],
};

describe.each(["pica01", "pica02"])("provisioning of %s", (stack) => {
  // The stack as its file says, rendered once; each test that changes the config renders its own.
  let baseline: RenderedStack;
  beforeAll(async () => {
    baseline = await renderStack(stack);
  });
  it("copies every rendered file to the staging folder of the connection user, over the stack's ssh:// address", async () => {
    const rendered = baseline;
    const copies = rendered.resources.filter((r) => r.type === COPY);
    expect(copies.map((c) => c.inputs.remotePath).sort()).toEqual(
      [
        "directory-authorized-keys",
        "docker-tech-api.cfg",
        "docker-tech-api.sh",
        "group.conf",
        "install-bind-password.sh",
        "nftables.conf",
        "pam-docker-group",
        "setup.sh",
        "sshd-directory-logins.conf",
        "sssd.conf",
        "sudoers-admins",
        "unattended-upgrades.conf",
      ].map((file) => `/home/deploy/infra-host/${file}`),
    );
    for (const resource of remoteResources(rendered)) {
      expect(resource.inputs.connection).toMatchObject({ host: `${stack}.picasoft.example.org`, port: 22, user: "deploy" });
      // No key in the stack file: the provider falls back to the SSH agent.
      expect(resource.inputs.connection.privateKey).toBeUndefined();
    }
  });

  it("connects with the private key and checks the host key when the stack file sets them", async () => {
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyExample";
    const rendered = await renderVariant(stack, (c) => {
      c["infra:provisioning"].privateKey = { secure: "v1:ZXhhbXBsZQ==:a2V5" };
      c["infra:provisioning"].hostKey = hostKey;
    });
    for (const resource of remoteResources(rendered)) {
      expect(resource.inputs.connection.hostKey).toBe(hostKey);
      expect(rendered.secrets).toContain(resource.inputs.connection.privateKey);
    }
  });

  it("runs the setup script, then installs the bind password from stdin as a secret", async () => {
    const rendered = baseline;
    const commands = rendered.resources.filter((r) => r.type === COMMAND);
    expect(commands.map((c) => [c.name, c.inputs.create])).toEqual([
      ["host-setup", "sudo -n sh /home/deploy/infra-host/setup.sh /home/deploy/infra-host"],
      ["host-directory-bind-password", "sudo -n sh /home/deploy/infra-host/install-bind-password.sh"],
    ]);
    const password = commands[1].inputs.stdin as string;
    expect(rendered.secrets).toContain(password);
    // The password reaches the host on stdin only: no copied file or command line carries it.
    expect(JSON.stringify(remoteResources(rendered).map((r) => ({ ...r.inputs, stdin: undefined })))).not.toContain(password);
  });

  it("gives each copy the SHA-256 of its file as trigger, the same as the plan's summary", async () => {
    const rendered = baseline;
    const summary = summaryOf(baseline).files;
    for (const file of summary) {
      const copy = rendered.resources.find((r) => r.name === `host-file-${file.name}`);
      expect(copy?.inputs.triggers).toEqual([file.sha256]);
    }
  });

  it("renders the same triggers twice from the same config (a second `pulumi up` does nothing)", async () => {
    expect(changedTriggers(baseline, await renderStack(stack))).toEqual([]);
  });

  it("keeps every trigger when a setting that no host file uses changes", async () => {
    const before = baseline;
    const after = await renderVariant(stack, (c) => (c["infra:memoryBudgetMb"] += 1024));
    expect(changedTriggers(before, after)).toEqual([]);
  });

  it("re-copies the files that name the directory, and re-runs the setup, when the directory URL changes", async () => {
    const before = baseline;
    const after = await renderVariant(stack, (c) => (c["infra:provisioning"].directoryUrl = "ldaps://directory.picasoft.example.org:636"));
    expect(changedTriggers(before, after)).toEqual(["host-file-directory-authorized-keys", "host-file-sssd.conf", "host-setup"]);
  });

  it("re-copies the firewall and re-runs the setup when the SSH port changes, and connects on the new port", async () => {
    const before = baseline;
    const after = await renderVariant(stack, (c) => (c["infra:docker"] += ":2222"));
    expect(changedTriggers(before, after)).toEqual(["host-file-nftables.conf", "host-setup"]);
    expect(remoteResources(after).every((r) => r.inputs.connection.port === 2222)).toBe(true);
  });

  // Triggers change when, and only when, a rendered file changes: each copy with its own file, the setup
  // with any file. The files that change are computed from the summary's hashes, independently.
  it.each<[string, (c: StackFileConfig) => void]>([
    ["the memory budget", (c) => (c["infra:memoryBudgetMb"] += 1024)],
    ["the public address", (c) => (c["infra:publicIpv4"] = "198.51.100.20")],
    ["the directory URL", (c) => (c["infra:provisioning"].directoryUrl = "ldaps://directory.picasoft.example.org")],
    ["the SSH port", (c) => (c["infra:docker"] += ":2222")],
    ["the SSH user", (c) => (c["infra:docker"] = c["infra:docker"].replace("deploy@", "admin@"))],
    ["the directory clients", (c) => (c["infra:provisioning"].directoryClients = ["198.51.100.30"])],
    ["the host key", (c) => (c["infra:provisioning"].hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyExample")],
  ])("re-runs exactly the copies of the files that change with %s", async (_what, change) => {
    const after = await renderVariant(stack, change);
    const before = summaryOf(baseline).files;
    const changedFiles = summaryOf(after)
      .files.filter((f) => before.find((b) => b.name === f.name)?.sha256 !== f.sha256)
      .map((f) => `host-file-${f.name}`);
    const expected = [...changedFiles, ...(changedFiles.length > 0 ? ["host-setup"] : [])].sort();
    expect(changedTriggers(baseline, after)).toEqual(expected);
  });

  it("ships the directory's CA certificate when one is set", async () => {
    const before = baseline;
    const certificate = "-----BEGIN CERTIFICATE-----\nMIIBexample\n-----END CERTIFICATE-----\n";
    const after = await renderVariant(stack, (c) => (c["infra:provisioning"].directoryCaCertificate = certificate));
    const names = Object.keys(triggersOf(after)).filter((n) => !(n in triggersOf(before)));
    expect(names).toEqual(["host-file-directory-ca.crt"]);
    const summary = summaryOf(after);
    expect(summary.files.find((f) => f.name === "directory-ca.crt")).toMatchObject({
      target: "/etc/infra-host/directory-ca.crt",
      sha256: sha256(certificate),
    });
  });

  it("exports what the host is provisioned with: files and hashes, firewall ports, groups", async () => {
    const summary = summaryOf(baseline);
    expect(summary.ssh).toBe(`deploy@${stack}.picasoft.example.org:22`);
    expect(summary.directory).toEqual({
      url: "ldaps://ldap.picasoft.example.org:636",
      bindDn: "cn=hosts,ou=services,dc=picasoft,dc=example,dc=org",
    });
    expect(summary.firewall.map((p) => p.port)).toEqual(FIREWALL[stack]);
    expect(summary.groups.map((g) => g.group)).toEqual(["tech", "admins"]);
    expect(summary.files.find((f) => f.name === "sssd.conf")).toMatchObject({ target: "/etc/sssd/sssd.conf", mode: "0600" });
    expect(summary.packages).toContain("docker.io");
  });
});

describe("provisioning in the plan", () => {
  it("prints pica02's files with their hashes, its firewall with LDAPS for pica01 only, and the groups", async () => {
    const summary = summaryOf(await renderStack("pica02"));
    const lines = provisioningLines(summary);
    expect(lines[0]).toBe(
      "Host provisioning over SSH (deploy@pica02.picasoft.example.org:22), directory ldaps://ldap.picasoft.example.org:636:",
    );
    const sssd = summary.files.find((f) => f.name === "sssd.conf");
    expect(lines).toContain(`    ${sssd?.sha256.slice(0, 12)}  0600  /etc/sssd/sssd.conf`);
    expect(lines).toContain("    636  ldaps (other hosts' sssd) from 203.0.113.11");
    expect(lines).toContain("    25  smtp");
    expect(lines.some((line) => line.startsWith("    admins: "))).toBe(true);
  });
});

/** The `provisioning` summary of a rendered remote stack (what `npm run plan` prints). */
function summaryOf(rendered: RenderedStack) {
  if (!rendered.config.provisioning) throw new Error(`${rendered.stack} has no provisioning settings`);
  return provisioningSummary(rendered.config, rendered.config.provisioning);
}

describe("provisioning settings", () => {
  it("does not provision the local stack (its Docker engine is this machine)", async () => {
    const rendered = await renderStack("local");
    expect(remoteResources(rendered)).toEqual([]);
  });

  async function configError(stack: string, change: (config: StackFileConfig) => void): Promise<string> {
    try {
      await renderVariant(stack, change);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error("expected a ConfigError");
  }

  it.each([
    [
      "pica01",
      "a remote host without provisioning settings",
      (c: StackFileConfig) => delete c["infra:provisioning"],
      "provisioning: required when docker is ssh://...",
    ],
    [
      "local",
      "provisioning settings on the local stack",
      (c: StackFileConfig) => (c["infra:provisioning"] = stackVariant("pica01")["infra:provisioning"]),
      "provisioning: only for remote hosts",
    ],
    [
      "pica01",
      "a bind password in plain text",
      (c: StackFileConfig) => (c["infra:provisioning"].bindPassword = "hunter2"),
      "provisioning.bindPassword: is written in plain text; expected a secret",
    ],
    [
      "pica01",
      "a private key in plain text",
      (c: StackFileConfig) => (c["infra:provisioning"].privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----"),
      "provisioning.privateKey: is written in plain text; expected a secret",
    ],
    [
      "pica01",
      "a directory reached without TLS",
      (c: StackFileConfig) => (c["infra:provisioning"].directoryUrl = "ldap://ldap.picasoft.example.org"),
      "provisioning.directoryUrl: expected ldaps://host[:port]",
    ],
    [
      "pica01",
      "a host key that is not a public key",
      (c: StackFileConfig) => (c["infra:provisioning"].hostKey = "SHA256:abc"),
      "provisioning.hostKey: expected a public key such as ssh-ed25519 AAAA...",
    ],
  ])("%s: rejects %s", async (stack, _what, change, message) => {
    expect(await configError(stack, change)).toContain(message);
  });
});
