import { describe, expect, it } from "vitest";
import { renderHostFiles } from "../../../hosts/render";
import { dockerAvailable } from "../../helpers/docker";
import { loadFirewall } from "../../helpers/hosts";

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
});
