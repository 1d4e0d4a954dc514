import { describe, expect, it } from "vitest";
import { firewallPorts, renderHostFiles } from "../../../hosts/render";
import { dockerAvailable } from "../../helpers/docker";
import { loadFirewall, probeFirewall, probeForwarding } from "../../helpers/hosts";

/** The rendered nftables.conf loaded by nft itself, in a container's own network namespace. */
describe.runIf(dockerAvailable())("host firewall", () => {
  const nftablesConf = (ports: number[]) =>
    renderHostFiles({
      baseDn: "dc=asso,dc=localhost",
      directoryUrl: "ldaps://ldap:636",
      localUsers: ["deploy"],
      firewall: ports.map((port) => ({ port, purpose: String(port) })),
    }).find((f) => f.name === "nftables.conf")?.content as string;

  it("loads as a drop-by-default input chain that opens only the rendered ports", async () => {
    const result = await loadFirewall(nftablesConf([22, 25, 80, 443, 465, 587, 993, 4190]));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/type filter hook input priority filter; policy drop;/);
    expect(result.stdout).toMatch(/tcp dport \{ 22, 25, 80, 443, 465, 587, 993, 4190 \} accept/);
  });

  it("replaces its own table when loaded again instead of adding a second one", async () => {
    const result = await loadFirewall(nftablesConf([22, 80, 443]));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.match(/table inet infra_host/g)).toHaveLength(1);
    expect(result.stdout.match(/tcp dport/g)).toHaveLength(1);
  });

  it("lets a neighbour reach only the allowed ports, including ports Docker publishes (DNAT)", async () => {
    // sshd listens on 22 (allowed) and 2222 (not); 443 (allowed) and 8443 (not) are "published" to sshd's 22.
    const reachable = await probeFirewall(() => nftablesConf([22, 80, 443]), {
      listen: [22, 2222],
      published: { 443: 22, 8443: 22 },
      probe: [22, 2222, 443, 8443],
    });
    expect(reachable).toEqual({ 22: "open", 2222: "closed", 443: "open", 8443: "closed" });
  });

  it("keeps a neighbour from reaching a container's address directly through the host, over IPv4 and IPv6", async () => {
    const conf = nftablesConf([22, 80, 443]);
    // Control: the same ruleset without its forward chain lets the neighbour route straight to the container.
    const withoutForward = conf.replace(/\tchain forward \{[\s\S]*?\n\t\}\n/, "");
    expect(withoutForward).not.toContain("hook forward");
    expect(await probeForwarding(withoutForward)).toEqual({ direct4: "open", direct6: "open" });
    expect(await probeForwarding(conf)).toEqual({ direct4: "closed", direct6: "closed" });
  });

  it("lets a neighbour reach a container's published port through the forward chain only where the firewall allows it", async () => {
    const conf = nftablesConf([22, 80, 443]);
    // 443 is allowed and published, 8443 published but not allowed; both DNAT to the container's sshd.
    const published = { 443: 22, 8443: 22 };
    expect(await probeForwarding(conf, published)).toEqual({
      direct4: "closed",
      direct6: "closed",
      published443: "open",
      published8443: "closed",
    });
    // Control: without the forward chain's DNAT rule, the allowed published port is dropped too.
    const withoutDnat = conf.replace(/\n\t\tct status dnat accept/, "");
    expect(withoutDnat).not.toContain("ct status dnat");
    expect(await probeForwarding(withoutDnat, published)).toMatchObject({ published443: "closed" });
  });

  it("opens a source-restricted port to the listed addresses only", async () => {
    const conf = (from: string) =>
      renderHostFiles({
        baseDn: "dc=asso,dc=localhost",
        directoryUrl: "ldaps://ldap:636",
        localUsers: ["deploy"],
        firewall: [
          { port: 22, purpose: "ssh" },
          { port: 636, purpose: "ldaps", from: [from] },
        ],
      }).find((f) => f.name === "nftables.conf")?.content as string;
    const probe = { listen: [22, 636], published: {}, probe: [636] };
    // The neighbour's network listed: it gets in; another address listed: it does not.
    expect(await probeFirewall((subnet) => conf(subnet), probe)).toEqual({ 636: "open" });
    expect(await probeFirewall(() => conf("192.0.2.10"), probe)).toEqual({ 636: "closed" });
  });

  it("lets only the monitoring host reach the agent's published port", async () => {
    // The ports of a host running the monitoring agent (services.agent), as hosts/render.ts derives them.
    const conf = (monitoringAddress: string) =>
      renderHostFiles({
        baseDn: "dc=asso,dc=localhost",
        directoryUrl: "ldaps://ldap:636",
        localUsers: ["deploy"],
        firewall: firewallPorts({ docker: "ssh://deploy@test-host", services: {}, agent: { ports: [9100], monitoringAddress } }),
      }).find((f) => f.name === "nftables.conf")?.content as string;
    // Docker publishes the node exporter's 9100 (DNAT, here to the neighbour-facing sshd).
    const probe = { listen: [22], published: { 9100: 22 }, probe: [9100] };
    expect(await probeFirewall((subnet) => conf(subnet), probe)).toEqual({ 9100: "open" });
    expect(await probeFirewall(() => conf("192.0.2.10"), probe)).toEqual({ 9100: "closed" });
  });
});
