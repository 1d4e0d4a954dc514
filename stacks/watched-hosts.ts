import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { z } from "zod";
import { AGENT_PORTS } from "../monitoring/agent-settings";
import type { WatchedHost } from "../platform/watched-host";
import { listStacks, readStackFile, UnknownStackError } from "./stack-files";

/**
 * Which host monitors which (issue 14), from the stack files of this repository. A watched host says so
 * once, in its own file (`infra:services.agent.monitoringHost: pica02`); the monitoring host finds the stacks
 * that name it. Each side reads the other's stack file, never its deployed stack:
 * - the watched host reads the monitoring host's `infra:publicIpv4`, the one address its firewall opens the
 *   agent's port to;
 * - the monitoring host renders each watched stack (the program under the mock runtime, stacks/render.ts)
 *   and takes what it scrapes and probes from that render's `watched` output (platform/watched-host.ts).
 * A StackReference would do instead of the render, but pica01 already references pica02 (its directory's
 * passwords): pica02 referencing pica01 back would make each host's first deployment wait for the other's.
 * The price: a mistake in a watched host's stack file stops the monitoring host's preview too.
 */

/** The keys of the monitoring host's stack file that a watched host reads, validated. */
const MonitoringHostFile = z.object({
  "infra:publicIpv4": z.ipv4({
    error: (issue) =>
      issue.input === undefined
        ? "has no infra:publicIpv4 to open the agent's port to"
        : "has an infra:publicIpv4 that is not an IPv4 address",
  }),
  "infra:services": z.object(
    { monitoring: z.unknown().refine((value) => value !== undefined, { error: "runs no monitoring (infra:services.monitoring)" }) },
    { error: "runs no monitoring (infra:services.monitoring)" },
  ),
});

/** The monitoring host's public address, or what is wrong with the stack named `stack` as one. */
export function monitoringHostAddress(stack: string): { address: string } | { problem: string } {
  let file: Record<string, unknown>;
  try {
    file = readStackFile(stack);
  } catch (error) {
    if (error instanceof UnknownStackError) return { problem: error.message };
    throw error;
  }
  const parsed = MonitoringHostFile.safeParse(file);
  if (parsed.success) return { address: parsed.data["infra:publicIpv4"] };
  return { problem: `stack '${stack}' ${parsed.error.issues[0].message}` };
}

/**
 * Where the agent runs (`services.agent`): its ports and the monitoring host's address, which the host's firewall
 * opens it to (hosts/render.ts). Filled into the validated config (stacks/schema.ts), so that the host's files
 * stay a function of it; undefined also when the monitoring host is wrong (stacks/rules.ts reports that).
 */
export function agentOpening(services: { agent?: { monitoringHost: string } }): { ports: number[]; monitoringAddress: string } | undefined {
  if (!services.agent) return undefined;
  const found = monitoringHostAddress(services.agent.monitoringHost);
  return "address" in found ? { ports: AGENT_PORTS, monitoringAddress: found.address } : undefined;
}

/** The stacks whose agent names `stack` as their monitoring host, sorted. Their files are validated when rendered. */
export function stacksWatchedBy(stack: string): string[] {
  return listStacks().filter((name) => {
    const services = readStackFile(name)["infra:services"] as { agent?: { monitoringHost?: unknown } } | undefined;
    return services?.agent?.monitoringHost === stack;
  });
}

/**
 * The watched hosts of `stack` during a real `pulumi up` or `preview`, where the mock runtime cannot run
 * beside the real one: rendered in a child process (stacks/watched-hosts-cli.ts), a few seconds per watched host.
 */
export function watchedHostsOfRun(stack: string): WatchedHost[] {
  if (stacksWatchedBy(stack).length === 0) return [];
  const root = path.join(__dirname, "..");
  const output = execFileSync(process.execPath, ["-r", "sucrase/register/ts", path.join(__dirname, "watched-hosts-cli.ts"), stack], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(output) as WatchedHost[];
}
