/**
 * `npm run bench:monitoring`: the monitoring service of the rendered local stack beside our own daemons
 * (directory, mail), at the stack's own intervals (scrape and evaluation every 60 s, or
 * BENCH_SCRAPE_SECONDS): the memory of each monitoring container once settled, the samples ingested over
 * BENCH_MINUTES (default 10), and the disk that makes per day. Prints figures; never fails on them.
 * Target: the monitoring of two hosts fits in 256 MB (one host's exporters, node, containers and
 * databases, are the second host's share). The database exporters scrape the stack's PostgreSQL servers
 * (started here); its Redis servers cannot be (their image cannot be pulled), so the Redis exporter's
 * memory is that of targets which do not answer.
 */
import Table from "cli-table3";
import { dockerOk } from "../tests/helpers/docker";
import { startStack, type RunningStack } from "../tests/helpers/harness";
import { MAIL_STACK } from "../tests/helpers/mail";
import { renderVariant } from "../tests/helpers/rendered";

const MINUTES = Number(process.env.BENCH_MINUTES ?? 10);
const SCRAPE_SECONDS = Number(process.env.BENCH_SCRAPE_SECONDS ?? 60);
const MONITORING = [
  "monitoring",
  "monitoring-alerts",
  "monitoring-alertmanager",
  "monitoring-blackbox",
  "monitoring-node",
  "monitoring-containers",
  "monitoring-mail-queue",
  "monitoring-postgres",
  "monitoring-redis",
];
/** The databases the exporters above scrape. */
const DATABASES = ["mattermost-db", "nextcloud-asso-db", "nextcloud-transition-db"];
/** What a second host adds: its exporters only. */
const PER_HOST = ["monitoring-node", "monitoring-containers", "monitoring-postgres", "monitoring-redis"];

async function scalar(stack: RunningStack, expr: string): Promise<number> {
  const result = await stack.exec("monitoring", [
    "curl",
    "-fsS",
    "--data-urlencode",
    `query=${expr}`,
    "http://127.0.0.1:8428/api/v1/query",
  ]);
  const answer = JSON.parse(result.stdout) as { data: { result: { value: [number, string] }[] } };
  return Number(answer.data.result[0]?.value[1] ?? NaN);
}

async function memoryMiB(stack: RunningStack, name: string): Promise<number> {
  const out = await dockerOk(["stats", "--no-stream", "--format", "{{.MemUsage}}", stack.prefix + name]);
  const [used] = out.trim().split(" / ");
  const value = parseFloat(used);
  return used.endsWith("GiB") ? value * 1024 : used.endsWith("KiB") ? value / 1024 : value;
}

async function diskBytes(stack: RunningStack): Promise<number> {
  const result = await stack.exec("monitoring", ["du", "-sb", "/var/lib/monitoring"]);
  return Number(result.stdout.split(/\s/)[0]);
}

async function main(): Promise<void> {
  const rendered = await renderVariant("local", (config) => {
    config["infra:services"].monitoring = { scrapeIntervalSeconds: SCRAPE_SECONDS, evaluationIntervalSeconds: SCRAPE_SECONDS };
  });
  const stack = await startStack({ rendered, containers: [...MAIL_STACK, ...DATABASES, ...MONITORING], stackHealthInterval: true });
  try {
    // Settle one interval, then measure from a first flush of the store.
    await new Promise((r) => setTimeout(r, (SCRAPE_SECONDS + 15) * 1000));
    const rowsBefore = await scalar(stack, "sum(vm_rows_added_to_storage_total)");
    const diskBefore = await diskBytes(stack);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, MINUTES * 60_000));
    const seconds = (Date.now() - started) / 1000;
    const rows = (await scalar(stack, "sum(vm_rows_added_to_storage_total)")) - rowsBefore;
    const series = await scalar(stack, 'sum(vm_cache_entries{type="storage/hour_metric_ids"})');
    const diskAfter = await diskBytes(stack);
    const memory = await Promise.all(
      MONITORING.map(async (name) => [name, await memoryMiB(stack, name), stack.spec(name).memoryMb] as const),
    );

    const table = new Table({ head: ["figure", "value"], style: { head: [], border: [] } });
    for (const [name, used, limit] of memory) table.push([`memory ${name}`, `${used.toFixed(1)} MiB (limit ${limit})`]);
    const total = memory.reduce((sum, [, used]) => sum + used, 0);
    const perHost = memory.filter(([name]) => PER_HOST.includes(name)).reduce((sum, [, used]) => sum + used, 0);
    table.push(["memory, whole service (one host)", `${total.toFixed(1)} MiB`]);
    table.push([
      "memory, two hosts (+ the other's node, containers and database exporters)",
      `${(total + perHost).toFixed(1)} MiB (target 256)`,
    ]);
    table.push(["active series", String(series)]);
    table.push([`samples ingested in ${MINUTES} min (scrape ${SCRAPE_SECONDS} s)`, `${rows} (${(rows / seconds).toFixed(1)}/s)`]);
    const perSample = rows > 0 ? (diskAfter - diskBefore) / rows : NaN;
    table.push(["disk per sample (before merges: an upper bound)", `${perSample.toFixed(2)} bytes`]);
    table.push(["disk per day (upper bound)", `${(((rows / seconds) * 86400 * perSample) / 1e6).toFixed(1)} MB`]);
    table.push(["disk now", `${(diskAfter / 1e6).toFixed(1)} MB`]);
    console.log(table.toString());
  } finally {
    await stack.teardown();
  }
}

main().then(
  () => undefined,
  (error: Error) => {
    console.error(`bench:monitoring: ${error.stack ?? error.message}`);
    process.exitCode = 1;
  },
);
