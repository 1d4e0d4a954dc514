import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderHostFiles } from "../../../hosts/render";
import { pinnedHostKeySshOptions } from "../../../hosts/settings";
import { dockerAvailable, dockerOk } from "../../helpers/docker";
import { startBareHost, type TestHost } from "../../helpers/hosts";

const BOOTSTRAP = fs.readFileSync(path.resolve(__dirname, "../../../hosts/bootstrap.sh"), "utf8");
const SSH = ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"];

/**
 * A brand-new Debian host, from the provider's root login to the state the first `pulumi up` needs
 * (docs/first-deployment.md, step "bootstrap"): the documented command, run over SSH as documented.
 */
describe.runIf(dockerAvailable())("bootstrapping a new host", () => {
  let host: TestHost;
  let deployKey: string;
  let hostKey: string;

  /** `ssh root@HOST sh -s -- deploy "$(cat deploy-key.pub)" < hosts/bootstrap.sh`, from the host itself. */
  const bootstrap = (...args: string[]) =>
    host.exec(
      [
        "ssh",
        "-i",
        "/keys/admin",
        ...SSH,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "root@localhost",
        "sh",
        "-s",
        "--",
        ...args.map((a) => `'${a}'`),
      ],
      { input: BOOTSTRAP },
    );
  /** ssh as deploy, trusting exactly `key` as the host's key: what the Docker provider runs (hosts/settings.ts). */
  const sshPinned = (key: string, command: string) =>
    host.exec(["ssh", "-i", "/keys/deploy", ...SSH, ...pinnedHostKeySshOptions(key), "deploy@localhost", command]);

  beforeAll(async () => {
    host = await startBareHost();
    deployKey = await host.newKey("deploy");
  }, 300_000);
  afterAll(async () => host?.remove());

  it("creates the connection account and prints the host key for the stack file", async () => {
    const result = await bootstrap("deploy", deployKey);
    expect(result.exitCode, result.stderr).toBe(0);
    hostKey = result.stdout.trim().split("\n").pop()!;
    expect(hostKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    expect((await host.exec(["cut", "-d", " ", "-f1,2", "/etc/ssh/ssh_host_ed25519_key.pub"])).stdout.trim()).toBe(hostKey);
  });

  it("lets the connection account log in with its key and sudo without a password", async () => {
    const result = await sshPinned(hostKey, "sudo -n id -u");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("0");
  });

  it("changes nothing when run again", async () => {
    const before = await host.exec(["sh", "-c", "cat /home/deploy/.ssh/authorized_keys /etc/sudoers.d/50-infra-deploy"]);
    expect((await bootstrap("deploy", deployKey)).exitCode).toBe(0);
    const after = await host.exec(["sh", "-c", "cat /home/deploy/.ssh/authorized_keys /etc/sudoers.d/50-infra-deploy"]);
    expect(after.stdout).toBe(before.stdout);
  });

  it("refuses a bad account name or key without changing anything", async () => {
    for (const args of [
      ["Deploy!", deployKey],
      ["deploy", "not a key"],
    ]) {
      const result = await bootstrap(...args);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/^bootstrap: (first|second) argument/);
    }
    expect((await host.exec(["id", "Deploy!"])).exitCode).not.toBe(0);
  });

  it("makes the first provisioning put the connection account in the docker group", async () => {
    const files = renderHostFiles({
      baseDn: "dc=asso,dc=localhost",
      directoryUrl: "ldaps://ldap:636",
      localUsers: ["deploy"],
      firewall: [],
    });
    const setup = files.find((f) => f.name === "setup.sh")!;
    await dockerOk(["exec", "-i", host.name, "sh", "-c", "mkdir -p /staging && cat > /staging/setup.sh"], { input: setup.content });
    const result = await host.exec(["sh", "/staging/setup.sh", "/staging", "accounts"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const groups = await sshPinned(hostKey, "id -nG");
    expect(groups.stdout.trim().split(" ")).toContain("docker");
  });

  it("refuses a server whose key is not the stack's (pinned host key), and accepts the right one", async () => {
    const other = (await host.newKey("other")).split(" ").slice(0, 2).join(" ");
    const refused = await sshPinned(other, "true");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/Host key verification failed/);
    expect((await sshPinned(hostKey, "true")).exitCode).toBe(0);
  });
});
