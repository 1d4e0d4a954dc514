import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { hostRenderInput, renderHostFiles } from "../../../hosts/render";
import { deriveWatchedProbes } from "../../../monitoring/probes";
import { renderStack, renderWatchedHosts, type RenderedStack } from "../../../stacks/render";
import { agentMonitoringHost } from "../../../stacks/rules";
import { ConfigError } from "../../../stacks/schema";
import { watchedHostsOfRun } from "../../../stacks/watched-hosts";
import { containerOf, renderVariant, stackVariant } from "../../helpers/rendered";

/**
 * pica01 watched from pica02 (issue 14): pica01 runs the agent, its port open to pica02's address only; pica02
 * scrapes it and probes pica01's routes, derived from pica01's stack file, with no line written for them.
 */

const PICA01_ADDRESS = "203.0.113.11";
const PICA02_ADDRESS = "203.0.113.12";

function fileOf(stack: RenderedStack, container: string, name: string): string {
  const found = containerOf(stack, container).files.find((f) => f.path.endsWith(`/${name}`));
  if (!found) throw new Error(`${container} has no ${name}`);
  return found.content;
}

interface ScrapeJob {
  job_name: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

function jobs(stack: RenderedStack, container: string, name: string): ScrapeJob[] {
  return (parse(fileOf(stack, container, name)) as { scrape_configs: ScrapeJob[] }).scrape_configs;
}

/** The probes of pica02 that belong to pica01: `probe` label by target. */
function pica01Probes(pica02: RenderedStack): string[] {
  const probe = jobs(pica02, "monitoring", "scrape.yml").find((j) => j.job_name === "probe");
  return (probe?.static_configs ?? []).filter((s) => s.labels.host === "pica01").map((s) => s.labels.probe);
}

describe("pica01 watched from pica02", () => {
  let pica01: RenderedStack;
  let pica02: RenderedStack;
  beforeAll(async () => {
    pica01 = await renderStack("pica01");
    pica02 = await renderStack("pica02");
  });

  it("runs the agent on pica01 from the monitoring image: the node exporter published on 9100, and the containers' health", () => {
    const node = containerOf(pica01, "agent-node");
    expect(node.image).toMatch(/\/monitoring:/);
    expect(node.command[0]).toBe("prometheus-node-exporter");
    expect(node.ports).toEqual([{ host: 9100, container: 9100, protocol: "tcp", ip: "0.0.0.0" }]);
    expect(node.volumes.map((v) => v.target)).toEqual(["/host", "/var/lib/job-metrics"]);
    const health = containerOf(pica01, "agent-containers");
    expect(health.entrypoint).toEqual(["/usr/local/bin/containers-health"]);
    const watched = health.env.MONITORING_CONTAINERS.split(" ");
    // Every long-running container of pica01, the proxy and the agent's own included; no one-shot job.
    const longRunning = pica01.containers.filter((c) => !/-occ-/.test(c.name)).map((c) => `${c.name}=${c.service}`);
    expect(watched.sort()).toEqual(longRunning.sort());
    expect(pica02.containers.some((c) => c.service === "agent")).toBe(false);
  });

  it("opens the agent's ports (node, Redis and PostgreSQL exporters) in pica01's firewall to pica02's address only, read from pica02's stack file", () => {
    expect(pica01.provisioning?.firewall).toContainEqual({
      port: 9100,
      purpose: "metrics (the monitoring host's scrapes)",
      from: [PICA02_ADDRESS],
    });
    const files = renderHostFiles(hostRenderInput(pica01.config, pica01.config.provisioning!));
    const nftables = files.find((f) => f.name === "nftables.conf")?.content ?? "";
    for (const port of [9100, 9121, 9187]) expect(nftables).toContain(`ip saddr { ${PICA02_ADDRESS} } tcp dport ${port} accept`);
    const openToAll = /tcp dport \{ ([\d, ]+) \} accept/.exec(nftables)?.[1].split(", ");
    for (const port of ["9100", "9121", "9187"]) expect(openToAll).not.toContain(port);
    expect(pica02.provisioning?.firewall.map((p) => p.port)).not.toContain(9100);
  });

  it("scrapes pica01's agent from pica02 at pica01's address with vmagent, the store staying on internal networks", () => {
    const agents = jobs(pica02, "monitoring-scrape", "agents.yml");
    expect(agents[0]).toEqual({
      job_name: "node",
      static_configs: [{ targets: [`${PICA01_ADDRESS}:9100`], labels: { host: "pica01" } }],
      honor_labels: true,
    });
    // pica01's database exporters, at its address: every database of pica01's plan, with no line for them.
    expect(agents.slice(1).map((j) => j.job_name)).toEqual(["postgres", "redis"]);
    expect(agents[1].static_configs).toEqual([{ targets: [`${PICA01_ADDRESS}:9187`], labels: { host: "pica01" } }]);
    const redis = pica01.containers.filter((c) => /-redis$/.test(c.name) && c.service !== "agent").map((c) => `redis://${c.name}:6379`);
    expect(redis.length).toBeGreaterThan(1);
    expect(agents[2].static_configs).toEqual([
      { targets: redis.sort(), labels: { host: "pica01", __exporter_address: `${PICA01_ADDRESS}:9121` } },
    ]);
    expect(containerOf(pica02, "monitoring-scrape").command).toContain("-remoteWrite.url=http://monitoring:8428/api/v1/write");
    const internal = new Set(pica02.networks.filter((n) => n.internal).map((n) => n.name));
    expect(containerOf(pica02, "monitoring").networks.every((n) => internal.has(n))).toBe(true);
    // The store watches vmagent itself: a stopped vmagent is `up == 0` there.
    expect(jobs(pica02, "monitoring", "scrape.yml").find((j) => j.job_name === "vmagent")?.static_configs[0].targets).toEqual([
      "monitoring-scrape:8429",
    ]);
  });

  it("keeps pica02's whole monitoring, vmagent included, within 256 MiB of limits", () => {
    const monitoring = pica02.containers.filter((c) => c.service === "monitoring");
    expect(monitoring.map((c) => c.name)).toContain("monitoring-scrape");
    expect(monitoring.reduce((sum, c) => sum + c.memoryMb, 0)).toBeLessThanOrEqual(256);
  });

  it("probes every route of pica01's plan from pica02 over HTTPS, labelled with pica01", () => {
    const routes = pica01.routes.map((r) => `https://${new URL(r.url).hostname}/`).sort();
    expect(routes.length).toBeGreaterThan(3);
    expect(pica01Probes(pica02).sort()).toEqual(routes);
  });

  it("adds the probe of a route added to pica01's stack file, with no line written on pica02", async () => {
    const partner = { id: "nouveau", name: "Nouveau", domain: "cloud.nouveau.example.org", adminEmail: "admin@nouveau.example.org" };
    const withPartner = stackVariant("pica01", (c) => c["infra:partners"].push(partner));
    const after = await renderStack("pica02", undefined, undefined, { watchedConfigs: { pica01: withPartner } });
    expect(pica01Probes(after)).toEqual(expect.arrayContaining([...pica01Probes(pica02), "https://cloud.nouveau.example.org/"]));
    expect(pica01Probes(after)).toHaveLength(pica01Probes(pica02).length + 1);
  });

  it("alerts when pica01's agent is down or not scraped at all, and when pica01's backup never reports", () => {
    const rules = (parse(fileOf(pica02, "monitoring-alerts", "rules.yml")) as { groups: { rules: { alert: string; expr: string }[] }[] })
      .groups[0].rules;
    const exprs = (alert: string) => rules.filter((r) => r.alert === alert).map((r) => r.expr);
    expect(exprs("HostNotScraped")).toEqual(["up == 0", 'absent(up{job="node",host="pica01"})']);
    expect(exprs("JobLate")).toContain('absent(infra_job_last_success_timestamp_seconds{job="backup",host="pica01"})');
    expect(exprs("JobLate")).toContain('absent(infra_job_last_success_timestamp_seconds{job="backup",host="pica02"})');
  });

  it("gives a real run the same watched hosts, rendered in a child process", () => {
    expect(watchedHostsOfRun("pica01")).toEqual([]);
    return renderWatchedHosts("pica02").then((rendered) => {
      expect(rendered.map((h) => h.host)).toEqual(["pica01"]);
      expect(watchedHostsOfRun("pica02")).toEqual(rendered);
    });
  }, 60_000);
});

describe("the probes of a watched host", () => {
  it("checks each route (behind a login: its refusal) and each published port by its protocol at the host's address, and drops the services switched off", () => {
    const host = {
      host: "mx",
      address: "192.0.2.7",
      agentPort: 9100,
      databaseExporters: [],
      routes: [
        { service: "webmail", host: "webmail.example.org", login: false },
        { service: "monitoring", host: "metrics.example.org", login: true },
      ],
      ports: [
        { service: "proxy", port: 443 },
        { service: "mail", port: 25 },
        { service: "mail", port: 993 },
      ],
      jobs: [],
    };
    expect(deriveWatchedProbes([host]).map((p) => [p.name, p.module, p.target, p.host])).toEqual([
      ["https://metrics.example.org/", "https_login", "https://metrics.example.org/", "mx"],
      ["https://webmail.example.org/", "https", "https://webmail.example.org/", "mx"],
      ["imaps://192.0.2.7:993", "imaps", "192.0.2.7:993", "mx"],
      ["smtp+starttls://192.0.2.7:25", "smtp_starttls", "192.0.2.7:25", "mx"],
    ]);
    expect(deriveWatchedProbes([host], { mail: { enabled: false } }).map((p) => p.name)).toEqual([
      "https://metrics.example.org/",
      "https://webmail.example.org/",
    ]);
  });
});

describe("the agent's settings", () => {
  const problems = async (change: (c: Record<string, any>) => void): Promise<string> => {
    const error = await renderVariant("pica01", change).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.join("\n");
  };

  it.each([
    ["nowhere", "services.agent.monitoringHost: unknown stack 'nowhere'"],
    ["local", "services.agent.monitoringHost: stack 'local' has no infra:publicIpv4 to open the agent's port to"],
    ["pica01", "services.agent.monitoringHost: stack 'pica01' runs no monitoring (infra:services.monitoring)"],
    ["../pica02", "services.agent.monitoringHost: expected the name of a stack of this repository"],
  ])("refuses monitoringHost '%s' with its key path", async (monitoringHost, message) => {
    expect(await problems((c) => (c["infra:services"].agent.monitoringHost = monitoringHost))).toContain(message);
  });

  it.each([
    [{ publicIpv4: "192.0.2.1", services: { agent: { monitoringHost: "pica02" } } }, []],
    [
      { publicIpv4: "192.0.2.1", services: { agent: { monitoringHost: "pica02" }, monitoring: {} } },
      [{ path: ["services", "agent"], message: "not needed where monitoring runs: it watches its own host" }],
    ],
    [{ services: {} }, []],
  ])("agentMonitoringHost(%j) reports exactly these problems", (stack, expected) => {
    expect(agentMonitoringHost(stack)).toEqual(expected);
  });

  it("stops the monitoring host's render on a mistake in a watched host's file, saying whose", async () => {
    const broken = stackVariant("pica01", (c) => (c["infra:memoryBudgetMb"] = "lots"));
    const error = await renderStack("pica02", undefined, undefined, { watchedConfigs: { pica01: broken } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toContain("pica01 (watched from pica02): memoryBudgetMb: expected a whole number");
  });

  it("needs the watched host's public address, where it is scraped and probed", async () => {
    expect(await problems((c) => delete c["infra:publicIpv4"])).toContain("publicIpv4: required with services.agent");
  });
});
