import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { databaseExporters } from "../../../monitoring/database-exporters";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf, renderVariant, stackVariant } from "../../helpers/rendered";

/**
 * The PostgreSQL and Redis exporters (monitoring/database-exporters.ts): one per kind on each host that runs
 * databases, reaching every database its services declared, as the least-privileged `exporter` login whose
 * password is a secret file on both sides.
 */

interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

function scrapeJobs(stack: RenderedStack, container: string, file: string): ScrapeJob[] {
  const found = containerOf(stack, container).files.find((f) => f.path.endsWith(`/${file}`));
  if (!found) throw new Error(`${container} has no ${file}`);
  return (parse(found.content) as { scrape_configs: ScrapeJob[] }).scrape_configs;
}

const named = (stack: RenderedStack, pattern: RegExp) =>
  stack.containers
    .filter((c) => pattern.test(c.name) && c.service !== "monitoring" && c.service !== "agent")
    .map((c) => c.name)
    .sort();

describe("the database exporters, derived from the declared databases", () => {
  let local: RenderedStack;
  let pica01: RenderedStack;
  let pica02: RenderedStack;
  beforeAll(async () => {
    // One after the other: the mock runtime renders one stack at a time.
    local = await renderStack("local");
    pica01 = await renderStack("pica01");
    pica02 = await renderStack("pica02");
  });

  it("groups the databases by kind, one exporter per kind present, targets sorted and unique", () => {
    const db = (kind: "postgres" | "redis", host: string) => ({ kind, host, port: kind === "redis" ? 6379 : 5432 });
    expect(databaseExporters([])).toEqual([]);
    expect(databaseExporters([db("postgres", "b-db"), db("postgres", "a-db"), db("postgres", "a-db")])).toEqual([
      { kind: "postgres", port: 9187, targets: ["a-db:5432", "b-db:5432"] },
    ]);
    expect(databaseExporters([db("redis", "cache"), db("postgres", "db")])).toEqual([
      { kind: "postgres", port: 9187, targets: ["db:5432"] },
      { kind: "redis", port: 9121, targets: ["redis://cache:6379"] },
    ]);
  });

  it("on local, scrapes every PostgreSQL and Redis of the plan through one exporter of each kind on the monitoring network", () => {
    const databases = named(local, /-db$/);
    const caches = named(local, /-redis$/);
    expect(databases).toEqual(["mattermost-db", "nextcloud-asso-db", "nextcloud-transition-db"]);
    expect(caches).toEqual(["nextcloud-asso-redis", "nextcloud-transition-redis"]);

    const postgres = containerOf(local, "monitoring-postgres");
    const networksOf = (names: string[]) => names.flatMap((n) => containerOf(local, n).networks);
    expect(postgres.networks.sort()).toEqual(["monitoring", ...networksOf(databases)].sort());
    expect(containerOf(local, "monitoring-redis").networks.sort()).toEqual(["monitoring", ...networksOf(caches)].sort());
    expect(postgres.role).toBe("app");
    expect(postgres.ports).toEqual([]);

    const jobs = scrapeJobs(local, "monitoring", "scrape.yml");
    expect(jobs.find((j) => j.job_name === "postgres")?.static_configs).toEqual([
      { targets: ["monitoring-postgres:9187"], labels: { host: "local" } },
    ]);
    const redis = jobs.find((j) => j.job_name === "redis");
    expect(redis?.metrics_path).toBe("/scrape");
    expect(redis?.static_configs).toEqual([
      { targets: caches.map((c) => `redis://${c}:6379`), labels: { host: "local", __exporter_address: "monitoring-redis:9121" } },
    ]);
  });

  it("connects as the exporter login with each database's own generated password, handed as secret files only", () => {
    const postgres = containerOf(local, "monitoring-postgres");
    // The data sources are a secret file, exported by the secrets-to-env wrapper in the process only.
    expect(postgres.env).toEqual({ DATA_SOURCE_NAME_FILE: "/run/secrets/DATA_SOURCE_NAME" });
    expect(postgres.command).toContain("prometheus-postgres-exporter");
    const sources = postgres.secrets.DATA_SOURCE_NAME.split(",");
    expect(sources.map((s) => new URL(s).host).sort()).toEqual([
      "mattermost-db:5432",
      "nextcloud-asso-db:5432",
      "nextcloud-transition-db:5432",
    ]);
    const passwords = new Set<string>();
    for (const source of sources) {
      const url = new URL(source);
      expect(url.username).toBe("exporter");
      const db = containerOf(local, url.hostname);
      // The database gets the same password, as a file its entrypoint reads to (re)create the role.
      expect(db.env.POSTGRES_EXPORTER_PASSWORD_FILE).toBe("/run/secrets/POSTGRES_EXPORTER_PASSWORD");
      expect(db.secrets.POSTGRES_EXPORTER_PASSWORD).toBe(url.password);
      expect(url.password).not.toBe(db.secrets.POSTGRES_PASSWORD);
      passwords.add(url.password);
    }
    expect(passwords.size).toBe(sources.length);

    const redis = containerOf(local, "monitoring-redis");
    expect(redis.env).toEqual({ REDIS_EXPORTER_PASSWORDS_FILE: "/run/secrets/REDIS_EXPORTER_PASSWORDS" });
    expect(redis.command).toEqual(
      expect.arrayContaining(["--redis.user=exporter", "--redis.password-file=/run/secrets/REDIS_EXPORTER_PASSWORDS"]),
    );
    const byUri = JSON.parse(redis.secrets.REDIS_EXPORTER_PASSWORDS) as Record<string, string>;
    for (const [uri, password] of Object.entries(byUri)) {
      const cache = containerOf(local, new URL(uri).hostname);
      expect(cache.secrets.REDIS_EXPORTER_PASSWORD).toBe(password);
      // Its ACL user may read INFO and the latency reports, never keys nor the configuration (the app's password).
      expect(cache.command.join(" ")).toMatch(/user exporter on >\$\(cat "\$REDIS_EXPORTER_PASSWORD_FILE"\) -@all \+ping \+info /);
      expect(cache.command.join(" ")).not.toMatch(/\+config|\+@read|~\*/);
    }

    // No password of any kind in any container's environment nor command line.
    const secrets = [...sources.map((s) => new URL(s).password), ...Object.values(byUri)];
    for (const container of local.containers) {
      const visible = [...Object.values(container.env), ...container.command, ...container.entrypoint].join("\n");
      for (const secret of secrets) expect(visible, container.name).not.toContain(secret);
    }
  });

  it("on pica01, runs them in the agent, published for pica02 only; pica02, with no database, has none", () => {
    for (const [name, port] of [
      ["agent-postgres", 9187],
      ["agent-redis", 9121],
    ] as const) {
      const exporter = containerOf(pica01, name);
      expect(exporter.ports).toEqual([{ host: port, container: port, protocol: "tcp", ip: "0.0.0.0" }]);
      expect(exporter.labels["infra.exception.publishPorts"]).toMatch(/pica02/);
      expect(exporter.networks).toContain("agent");
    }
    expect(
      containerOf(pica01, "agent-postgres")
        .secrets.DATA_SOURCE_NAME.split(",")
        .map((s) => new URL(s).hostname)
        .sort(),
    ).toEqual(named(pica01, /-db$/));
    expect(pica02.containers.map((c) => c.name)).not.toEqual(expect.arrayContaining([expect.stringMatching(/-(postgres|redis)$/)]));
    expect(pica02.containers.filter((c) => /-(db|redis)$/.test(c.name))).toEqual([]);
  });

  it("adds a tenant's database and Redis to what pica01's exporters reach, with no line written for them", async () => {
    const partner = { id: "nouveau", name: "Nouveau", domain: "cloud.nouveau.example.org", adminEmail: "admin@nouveau.example.org" };
    const after = await renderVariant("pica01", (c) => c["infra:partners"].push(partner));
    const hosts = (stack: RenderedStack) =>
      containerOf(stack, "agent-postgres")
        .secrets.DATA_SOURCE_NAME.split(",")
        .map((s) => new URL(s).hostname)
        .sort();
    expect(hosts(after)).toEqual([...hosts(pica01), "nextcloud-nouveau-db"].sort());
    const redis = (stack: RenderedStack) =>
      Object.keys(JSON.parse(containerOf(stack, "agent-redis").secrets.REDIS_EXPORTER_PASSWORDS)).sort();
    expect(redis(after)).toEqual([...redis(pica01), "redis://nextcloud-nouveau-redis:6379"].sort());
    expect(containerOf(after, "agent-postgres").networks).toContain("nextcloud-nouveau");
    // pica02's vmagent scrapes the new Redis through pica01's exporter.
    const pica02After = await renderStack("pica02", undefined, undefined, {
      watchedConfigs: { pica01: stackVariant("pica01", (c) => c["infra:partners"].push(partner)) },
    });
    const redisJob = scrapeJobs(pica02After, "monitoring-scrape", "agents.yml").find((j) => j.job_name === "redis");
    expect(redisJob?.static_configs[0].targets).toContain("redis://nextcloud-nouveau-redis:6379");
  });
});
