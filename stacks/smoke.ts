// `npm run smoke -- --stack NAME`: after a deploy, check from outside that the host's web services work.
import "dotenv/config";
import { readFileSync } from "node:fs";
import Table from "cli-table3";
import { Command, Option } from "commander";
import { listStacks, renderStack, UnknownStackError } from "./render";
import { ConfigError } from "./schema";
import { smokePlan, type SmokePlan } from "./smoke-checks";
import { dockerGet, fetchHttps, smoke, type Probe, type SmokeResult } from "./smoke-run";

interface Options {
  stack: string;
  wait: number;
  interval: number;
  connectTo?: string;
  caFile?: string;
  dockerHost?: string;
  format: "table" | "json";
}

const seconds = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`expected whole seconds, got ${value}`);
  return parsed;
};

function probeFor(plan: SmokePlan, options: Options): Probe {
  const extraCa = options.caFile ? [readFileSync(options.caFile, "utf8")] : undefined;
  return {
    https: (url) => fetchHttps(url, { connectTo: options.connectTo, extraCa, verify: plan.tls !== "self-signed" }),
    docker: (path) => dockerGet(path, { docker: options.dockerHost ?? plan.docker, hostKey: plan.hostKey }),
  };
}

export function formatTable(results: SmokeResult[]): string {
  const table = new Table({
    head: ["check", "target", "result", "detail"],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [18, 46, 8, 70],
  });
  for (const r of results) table.push([r.name, r.target, r.ok ? "ok" : "FAILED", r.detail]);
  return table.toString();
}

export function summary(stack: string, results: SmokeResult[]): string {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return `smoke ${stack}: all ${results.length} checks passed`;
  return `smoke ${stack}: ${failed.length} of ${results.length} checks failed:\n${failed.map((r) => `  - ${r.name} ${r.target}: ${r.detail}`).join("\n")}`;
}

async function main(): Promise<number> {
  const options = new Command("smoke")
    .description(
      "After a deploy, from outside: every route over HTTPS with a valid certificate, each Nextcloud installed and " +
        "out of maintenance, Collabora's discovery and each tenant's Office frame, Mattermost's ping, each occ job exited 0. " +
        "The expectations come from the rendered stack; checks that fail are run again until --wait is over.",
    )
    .option("-s, --stack <name>", `stack to check (${listStacks().join(", ")})`, "local")
    .option(
      "--wait <seconds>",
      "keep checking failing checks this long (a fresh deploy: certificates, installation, occ jobs)",
      seconds,
      900,
    )
    .option("--interval <seconds>", "pause between rounds", seconds, 15)
    .option(
      "--connect-to <host:port>",
      "send every HTTPS request there (host names, SNI and certificate checks unchanged), e.g. 127.0.0.1:443 for local",
    )
    .option("--ca-file <pem>", "also trust this CA (a staging ACME CA, a test CA)")
    .option("--docker-host <url>", "read the jobs from this Docker engine instead of the stack's infra:docker (unix://, tcp://, ssh://)")
    .addOption(new Option("--format <format>", "output").choices(["table", "json"]).default("table"))
    .showHelpAfterError()
    .parse()
    .opts<Options>();

  let plan: SmokePlan;
  try {
    plan = smokePlan(await renderStack(options.stack));
  } catch (error) {
    if (error instanceof UnknownStackError) {
      console.error(`--stack: ${error.message}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(`stacks/Pulumi.${options.stack}.yaml: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const results = await smoke(plan, probeFor(plan, options), {
    waitSeconds: options.wait,
    intervalSeconds: options.interval,
    onRetry: (failing, next) =>
      console.error(
        `smoke ${plan.stack}: ${failing.length} failing (${failing.map((r) => `${r.name} ${r.target}`).join("; ")}); again in ${next} s`,
      ),
  });
  if (options.format === "json") console.log(JSON.stringify({ stack: plan.stack, ok: results.every((r) => r.ok), results }, null, 2));
  else console.log(`${formatTable(results)}\n${summary(plan.stack, results)}`);
  return results.every((r) => r.ok) ? 0 : 1;
}

// Set the exit code and let Node end once stdout is flushed: process.exit() would cut piped output.
if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`smoke: ${error.stack ?? error.message}`);
      process.exitCode = 2;
    },
  );
}
