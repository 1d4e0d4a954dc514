import { describe, expect, it } from "vitest";
import { PACKAGES, renderHostFiles } from "../../../hosts/render";
import { dockerAvailable } from "../../helpers/docker";
import { runFullSetup } from "../../helpers/hosts";

/** The whole rendered setup.sh, every step, as a production host runs it (apt-get and systemctl recorded). */
describe.runIf(dockerAvailable())("host setup script", () => {
  const files = renderHostFiles({
    baseDn: "dc=asso,dc=localhost",
    directoryUrl: "ldaps://ldap:636",
    localUsers: ["deploy"],
    firewall: [
      { port: 22, purpose: "ssh" },
      { port: 80, purpose: "http" },
      { port: 443, purpose: "https" },
    ],
  });

  it("installs only the missing packages, loads the firewall and enables the services, in that order", async () => {
    const { result, calls, ruleset } = await runFullSetup(files);
    expect(result.exitCode, result.stderr).toBe(0);
    // The test host has every package but unattended-upgrades, and no Docker engine.
    expect(PACKAGES).toContain("unattended-upgrades");
    expect(calls).toEqual([
      "apt-get update -q",
      "apt-get install -y -q --no-install-recommends unattended-upgrades docker.io",
      "systemctl enable nftables.service",
      "systemctl enable --now docker.service apt-daily.timer apt-daily-upgrade.timer",
      "systemctl enable sssd.service",
      "systemctl restart sssd.service",
      "systemctl reload ssh.service",
      "systemctl enable haproxy.service",
      "systemctl restart haproxy.service",
    ]);
    expect(ruleset).toMatch(/tcp dport \{ 22, 80, 443 \} accept/);
  });

  it("stops before installing anything when the sudoers file is broken (admins keep their sudo)", async () => {
    const broken = files.map((f) => (f.name === "sudoers-admins" ? { ...f, content: "%admins ALL=(ALL:ALL\n" } : f));
    const { result, calls, inspected } = await runFullSetup(broken, "ls /etc/sudoers.d /etc/sssd");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("sudoers-admins");
    expect(inspected).not.toContain("50-admins");
    expect(inspected).not.toContain("sssd.conf");
    expect(calls.filter((call) => call.startsWith("systemctl"))).toEqual([]);
  });
});
