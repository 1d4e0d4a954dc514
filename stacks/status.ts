// `npm run status -- --stack NAME`: each probe's current state, as the host's monitoring sees it, in a table.
import "dotenv/config";
import { execFile } from "node:child_process";
import Table from "cli-table3";
import { Command, Option } from "commander";
import { pinnedHostKeySshOptions, sshTarget } from "../hosts/settings";
import { MONITORING_HOSTS, PORTS } from "../monitoring/config";
import { listStacks, readStackFile, UnknownStackError } from "./render";

/** One series of an instant query's answer (VictoriaMetrics' Prometheus API). */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export type Query = (expr: string) => Promise<Sample[]>;

export interface StatusRow {
  kind: "probe" | "container" | "host" | "job";
  name: string;
  /** The host it was scraped for: the monitoring host's own, or a host watched from it (pica01 from pica02). */
  host?: string;
  ok: boolean;
  detail: string;
}

export interface Status {
  rows: StatusRow[];
  /** Alerts firing now: `alertname: what` each. */
  firing: string[];
}

const FILESYSTEMS = `fstype!~"tmpfs|overlay|squashfs|nsfs"`;
export const STATUS_QUERIES = {
  probes: "probe_success",
  certificates: "(probe_ssl_earliest_cert_expiry - time()) / 86400",
  containers: "infra_container_healthy",
  load: "node_load1",
  memory: "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
  disk: `max by (host) (100 * (1 - node_filesystem_avail_bytes{${FILESYSTEMS}} / node_filesystem_size_bytes))`,
  jobSuccess: "infra_job_last_run_success",
  jobAge: "(time() - infra_job_last_success_timestamp_seconds) / 3600",
  alerts: 'ALERTS{alertstate="firing"}',
} as const;

const num = (s: Sample) => Number(s.value[1]);
const byName = (a: StatusRow, b: StatusRow) => (a.host ?? "").localeCompare(b.host ?? "") || a.name.localeCompare(b.name);

/** What the queries answered, as rows: pure, so the table is tested without a running monitoring. */
export function statusFrom(answers: Record<keyof typeof STATUS_QUERIES, Sample[]>, thresholds = { diskPercent: 85 }): Status {
  const certDays = new Map(answers.certificates.map((s) => [s.metric.probe, num(s)]));
  const probes = answers.probes.map((s): StatusRow => {
    const days = certDays.get(s.metric.probe);
    const cert = days === undefined ? "" : `certificate: ${Math.floor(days)} days left`;
    return {
      kind: "probe",
      name: s.metric.probe,
      host: s.metric.host,
      ok: num(s) === 1,
      detail: [s.metric.service, cert].filter(Boolean).join("; "),
    };
  });
  const containers = answers.containers.map((s): StatusRow => ({
    kind: "container",
    name: s.metric.name,
    host: s.metric.host,
    ok: num(s) === 1,
    detail: num(s) === 1 ? "healthy" : "stopped or unhealthy",
  }));
  const hosts = [...new Set([...answers.load, ...answers.memory, ...answers.disk].map((s) => s.metric.host))].map((host): StatusRow => {
    const of = (list: Sample[]) => list.find((s) => s.metric.host === host);
    const disk = of(answers.disk);
    const memory = of(answers.memory);
    const load = of(answers.load);
    return {
      kind: "host",
      name: host,
      ok: disk === undefined || num(disk) <= thresholds.diskPercent,
      detail: [
        disk && `disk ${num(disk).toFixed(0)} %`,
        memory && `memory ${num(memory).toFixed(0)} % used`,
        load && `load ${num(load).toFixed(2)}`,
      ]
        .filter(Boolean)
        .join(", "),
    };
  });
  const jobs = answers.jobSuccess.map((s): StatusRow => {
    const age = answers.jobAge.find((a) => a.metric.job === s.metric.job && a.metric.host === s.metric.host);
    return {
      kind: "job",
      name: s.metric.job,
      host: s.metric.host,
      ok: num(s) === 1,
      detail: `${num(s) === 1 ? "last run succeeded" : "last run FAILED"}${age ? `; last success ${num(age).toFixed(1)} h ago` : ""}`,
    };
  });
  const firing = answers.alerts
    .map((s) => {
      const what = s.metric.probe ?? s.metric.name ?? s.metric.job ?? s.metric.instance;
      return `${s.metric.alertname}: ${what ?? s.metric.host ?? ""}${what !== undefined && s.metric.host ? ` on ${s.metric.host}` : ""}`;
    })
    .sort();
  return { rows: [...probes.sort(byName), ...containers.sort(byName), ...hosts, ...jobs.sort(byName)], firing };
}

export async function collectStatus(query: Query): Promise<Status> {
  const keys = Object.keys(STATUS_QUERIES) as (keyof typeof STATUS_QUERIES)[];
  const answers = await Promise.all(keys.map((key) => query(STATUS_QUERIES[key])));
  return statusFrom(Object.fromEntries(keys.map((key, i) => [key, answers[i]])) as Record<keyof typeof STATUS_QUERIES, Sample[]>);
}

export function formatStatus(status: Status): string {
  const table = new Table({ head: ["kind", "host", "name", "state", "detail"], style: { head: [], border: [] } });
  for (const row of status.rows)
    table.push([row.kind, row.kind === "host" ? row.name : (row.host ?? ""), row.name, row.ok ? "up" : "DOWN", row.detail]);
  const alerts = status.firing.length === 0 ? "no alert firing" : `firing:\n${status.firing.map((a) => `  - ${a}`).join("\n")}`;
  return `${table.toString()}\n${alerts}`;
}

/**
 * An instant query to the host's VictoriaMetrics, run inside its container through the host's Docker engine
 * (its port is published nowhere): `docker exec` locally, over the stack's SSH connection otherwise.
 */
export function dockerExecQuery(docker: string, container: string, hostKey?: string): Query {
  const inContainer = ["exec", container, "curl", "-fsS", "--data-urlencode"];
  const url = `http://127.0.0.1:${PORTS.store}/api/v1/query`;
  const ssh = docker.startsWith("ssh://") ? sshTarget(docker) : undefined;
  return (expr) => {
    const query = `query=${expr}`;
    const [command, args] = ssh
      ? [
          "ssh",
          [
            ...(hostKey ? pinnedHostKeySshOptions(hostKey) : []),
            "-o",
            "BatchMode=yes",
            "-p",
            String(ssh.port),
            `${ssh.user}@${ssh.host}`,
            // One remote command line: quote the query for the remote shell.
            ["docker", ...inContainer, `'${query.replace(/'/g, `'\\''`)}'`, url].join(" "),
          ],
        ]
      : ["docker", ["--host", docker, ...inContainer, query, url]];
    return new Promise((resolve, reject) =>
      execFile(command, args as string[], { timeout: 30_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`query ${expr} failed: ${stderr.trim() || error.message}`));
        else resolve((JSON.parse(stdout) as { data: { result: Sample[] } }).data.result);
      }),
    );
  };
}

interface Options {
  stack: string;
  container: string;
  dockerHost?: string;
  format: "table" | "json";
}

async function main(): Promise<number> {
  const options = new Command("status")
    .description("Each probe's current state (and containers, host, jobs, firing alerts) as the host's monitoring sees it.")
    .option("-s, --stack <name>", `stack whose monitoring to ask (${listStacks().join(", ")})`, "local")
    .option("--container <name>", "the VictoriaMetrics container", MONITORING_HOSTS.store)
    .option("--docker-host <url>", "ask this Docker engine instead of the stack's infra:docker (unix://, tcp://, ssh://)")
    .addOption(new Option("--format <format>", "output").choices(["table", "json"]).default("table"))
    .showHelpAfterError()
    .parse()
    .opts<Options>();
  let config: Record<string, unknown>;
  try {
    config = readStackFile(options.stack);
  } catch (error) {
    if (error instanceof UnknownStackError) {
      console.error(`--stack: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const docker = options.dockerHost ?? String(config["infra:docker"]);
  const hostKey = (config["infra:provisioning"] as { hostKey?: string } | undefined)?.hostKey;
  const status = await collectStatus(dockerExecQuery(docker, options.container, hostKey));
  console.log(options.format === "json" ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.rows.every((r) => r.ok) && status.firing.length === 0 ? 0 : 1;
}

// Set the exit code and let Node end once stdout is flushed: process.exit() would cut piped output.
if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`status: ${error.message}`);
      process.exitCode = 2;
    },
  );
}
