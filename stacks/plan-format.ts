import Table from "cli-table3";
import { provisioningLines } from "../hosts/summary";
import { zoneFile } from "../mail/dns";
import type { BackupSummary } from "../backup/component";
import type { RenderedContainer, RenderedStack } from "./render";

/** How a rendered stack is printed: for people (text, markdown) and for scripts (json). No secret is ever printed. */

export const SECRET = "[secret]";

/** A container as the plan prints it: the rendered fields people and scripts read, env redacted. */
export type PlanContainer = Pick<
  RenderedContainer,
  | "name"
  | "service"
  | "role"
  | "image"
  | "networks"
  | "ports"
  | "env"
  | "memoryMb"
  | "restart"
  | "healthcheck"
  | "privileged"
  | "noNewPrivileges"
  | "capDrop"
  | "capAdd"
  | "readOnly"
  | "user"
  | "exceptions"
  | "secretsCarrier"
> & { volumes: { source: string; target: string; readOnly: boolean }[] };

export type Plan = Pick<RenderedStack, "stack" | "networks" | "volumes" | "routes" | "dns" | "memory" | "provisioning" | "references"> & {
  resources: number;
  containers: PlanContainer[];
  /** What of the host's data is backed up, how, where and when (backup/component.ts). */
  backup: BackupSummary;
};

/** The JSON contract of docs/contracts.md ("The plan's JSON"), with secret env values replaced by `[secret]`. */
export function toPlan(rendered: RenderedStack): Plan {
  const plan: Plan = {
    stack: rendered.stack,
    resources: rendered.resources.length,
    containers: rendered.containers.map(planContainer),
    networks: rendered.networks,
    volumes: rendered.volumes,
    routes: rendered.routes,
    dns: rendered.dns,
    memory: rendered.memory,
    provisioning: rendered.provisioning,
    references: rendered.references,
    backup: rendered.outputs.backup,
  };
  return redact(plan, rendered.secrets);
}

function planContainer(c: RenderedContainer): PlanContainer {
  return {
    name: c.name,
    service: c.service,
    role: c.role,
    image: c.image,
    networks: c.networks,
    ports: c.ports,
    volumes: c.volumes.map(({ source, target, readOnly }) => ({ source, target, readOnly })),
    env: Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, c.secretEnv.includes(k) ? SECRET : v])),
    memoryMb: c.memoryMb,
    restart: c.restart,
    healthcheck: c.healthcheck,
    privileged: c.privileged,
    noNewPrivileges: c.noNewPrivileges,
    capDrop: c.capDrop,
    capAdd: c.capAdd,
    readOnly: c.readOnly,
    user: c.user,
    exceptions: c.exceptions,
    secretsCarrier: c.secretsCarrier,
  };
}

/** Defence in depth: any known secret value left anywhere in the plan is replaced. */
function redact<T>(value: T, secrets: string[]): T {
  let text = JSON.stringify(value);
  for (const secret of secrets.filter((s) => s.length >= 8)) text = text.split(secret).join(SECRET);
  return JSON.parse(text) as T;
}

/** The DNS records as a zone-file snippet, to paste at the registrar. */
export function formatZone(plan: Plan): string {
  return plan.dns.length ? zoneFile(plan.dns) : `; host ${plan.stack} needs no DNS records\n`;
}

export function formatJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2);
}

const ports = (c: PlanContainer) =>
  c.ports.map((p) => `${p.ip === "0.0.0.0" ? "" : `${p.ip}:`}${p.host}->${p.container}/${p.protocol}`).join(", ");

function memoryLine(plan: Plan): string {
  const { usedMb, budgetMb, withinBudget } = plan.memory;
  return withinBudget
    ? `Memory: ${usedMb} MiB of ${budgetMb} MiB budget (${Math.round((usedMb / budgetMb) * 100)}%)`
    : `ERROR: memory limits add up to ${usedMb} MiB, over the host budget of ${budgetMb} MiB (infra:memoryBudgetMb)`;
}

function exceptionLines(plan: Plan): string[] {
  return plan.containers.flatMap((c) => [
    ...Object.entries(c.exceptions).map(([name, why]) => `${c.name}: ${name} — ${why}`),
    ...c.capAdd.map((cap) => `${c.name}: adds capability ${cap}`),
  ]);
}

export function formatText(plan: Plan): string {
  const containers = new Table({
    head: ["container", "service", "image", "networks", "published", "memory"],
    style: { head: [], border: [] },
  });
  for (const c of plan.containers) {
    // Digests are long: the table shows their first 12 hex digits (json and markdown keep them whole).
    const image = c.image.replace(/@sha256:([a-f0-9]{12})[a-f0-9]+$/, "@sha256:$1…");
    containers.push([c.name, c.service, image, c.networks.join(", "), ports(c), `${c.memoryMb} MiB`]);
  }
  const lines = [`Host ${plan.stack}: ${plan.containers.length} containers, ${plan.resources} resources`, containers.toString(), ""];
  lines.push("Public URLs:", ...(plan.routes.length ? plan.routes.map((r) => `  ${r.url} -> ${r.container}`) : ["  (none)"]), "");
  lines.push("DNS records:", ...(plan.dns.length ? plan.dns.map((d) => `  ${d.name} ${d.type} ${d.value}`) : ["  (none)"]), "");
  const exceptions = exceptionLines(plan);
  if (exceptions.length) lines.push("Hardening exceptions:", ...exceptions.map((e) => `  ${e}`), "");
  const carried = plan.containers.filter((c) => c.secretsCarrier);
  if (carried.length) {
    lines.push("Secret files of read-only containers, written by a carrier created and never started:");
    lines.push(...carried.map((c) => `  ${c.name} <- ${c.secretsCarrier}`), "");
  }
  if (plan.provisioning) lines.push(...provisioningLines(plan.provisioning), "");
  lines.push(...backupLines(plan), "");
  lines.push(...referenceLines(plan).map((line, i) => (i === 0 ? line : `  ${line}`)), ...(plan.references.length ? [""] : []));
  lines.push(memoryLine(plan));
  return lines.join("\n");
}

/** Per host: where and when the backup runs, and what it keeps of each volume (or why nothing). */
export function backupLines(plan: Plan): string[] {
  const { job, volumes } = plan.backup;
  const head = job
    ? [
        `Backup: every day at ${job.at} UTC to ${job.repository}; keeps ${job.keep.daily} daily, ${job.keep.weekly} weekly, ` +
          `${job.keep.monthly} monthly snapshots; restic check and prune on ${job.checkOn}s`,
      ]
    : ["Backup: none on this host (infra:services.backup is not set): the data below is NOT backed up"];
  return [...head, ...volumes.map((v) => `  ${v.volume}: ${v.keep} (${v.detail})`)];
}

/** Which settings come from which other stack (read at deploy time through a StackReference). */
function referenceLines(plan: Plan): string[] {
  if (plan.references.length === 0) return [];
  return ["Values from other stacks:", ...plan.references.flatMap((r) => r.values.map((value) => `${value} <- ${r.stack}`))];
}

const mdCell = (text: string) => text.replace(/\|/g, "\\|");

export function formatMarkdown(plan: Plan): string {
  const lines = [
    `# Host \`${plan.stack}\``,
    "",
    "| container | service | image | networks | published | memory |",
    "|---|---|---|---|---|---|",
  ];
  for (const c of plan.containers) {
    lines.push(
      `| ${[c.name, c.service, `\`${c.image}\``, c.networks.join(", "), ports(c) || "—", `${c.memoryMb} MiB`].map(mdCell).join(" | ")} |`,
    );
  }
  lines.push("", "## Public URLs", "", ...(plan.routes.length ? plan.routes.map((r) => `- ${r.url} → \`${r.container}\``) : ["(none)"]));
  lines.push("", "## DNS records", "");
  if (plan.dns.length) {
    lines.push(
      "| name | type | value |",
      "|---|---|---|",
      ...plan.dns.map((d) => `| ${mdCell(d.name)} | ${d.type} | \`${mdCell(d.value)}\` |`),
    );
  } else lines.push("(none)");
  const exceptions = exceptionLines(plan);
  if (exceptions.length) lines.push("", "## Hardening exceptions", "", ...exceptions.map((e) => `- ${e}`));
  if (plan.provisioning) lines.push("", "## Host provisioning", "", "```", ...provisioningLines(plan.provisioning), "```");
  const [backupHead, ...backupVolumes] = backupLines(plan);
  lines.push("", "## Backup", "", backupHead, "", ...backupVolumes.map((line) => `- ${line.trim()}`));
  if (plan.references.length)
    lines.push(
      "",
      "## From other stacks",
      "",
      ...referenceLines(plan)
        .slice(1)
        .map((line) => `- ${line}`),
    );
  lines.push("", "## Memory", "", memoryLine(plan), "", "## Diagram", "", "```mermaid", ...mermaid(plan), "```", "");
  return lines.join("\n");
}

/** Containers, the networks they join (dotted: internal), and the routes the proxy serves. */
export function mermaid(plan: Plan): string[] {
  const id = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
  const lines = ["flowchart LR", "  internet((Internet))"];
  for (const n of plan.networks) lines.push(`  ${id("net", n.name)}{{"${n.name}${n.internal ? " (internal)" : ""}"}}`);
  for (const c of plan.containers) lines.push(`  ${id("c", c.name)}["${c.name}<br/><small>${c.image}</small>"]`);
  for (const c of plan.containers) {
    for (const n of c.networks) {
      const internal = plan.networks.find((x) => x.name === n)?.internal;
      lines.push(`  ${id("c", c.name)} ${internal ? "-.-" : "---"} ${id("net", n)}`);
    }
    if (c.ports.length) lines.push(`  internet -->|${c.ports.map((p) => p.host).join(", ")}| ${id("c", c.name)}`);
  }
  const proxy = plan.containers.find((c) => c.role === "proxy");
  if (proxy) {
    for (const r of plan.routes) lines.push(`  ${id("c", proxy.name)} -->|${r.url.replace(/^https:\/\//, "")}| ${id("c", r.container)}`);
  }
  return lines;
}
