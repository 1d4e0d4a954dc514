/**
 * Put a host's data back from its backup: `npm run restore -- --stack <host> [--snapshot <id>] [--service <name>]`.
 * Run it after `pulumi up` made the host's containers and fresh volumes (a new host after one was lost:
 * docs/restore.md). For each service with data, in the order of the stack:
 *   1. its containers are stopped (not its databases, which receive the dumps);
 *   2. its volumes kept as files (or exports) are restored from the snapshot with restic, owners and modes
 *      included, by a one-off container of the backup image with the backup container's settings and secrets;
 *   3. what is kept elsewhere is loaded back (the directory: slapadd from the LDIF export);
 *   4. each database is restored from its dump with pg_restore, in one transaction;
 *   5. its containers are started again and must become healthy.
 * What to restore comes from the rendered stack (the declarations of platform/backup.ts), never from a list.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { BACKUP_DATA_DIR, type VolumeBackupSummary } from "../platform/backup";
import { SECRETS_DIR } from "../platform/container";
import { renderStack, type RenderedContainer, type RenderedStack } from "./render";

/** Where the restore runs: a Docker engine, and the names the stack's containers, volumes and networks have there. */
export interface RestoreTarget {
  /** Run the docker CLI; rejects with its output on a non-zero exit. */
  docker(args: string[]): Promise<string>;
  /** The engine's name of a container, volume or network of the stack (tests add a prefix). */
  name(name: string): string;
  /** The stack's containers that exist on the engine (by their stack names). */
  existing(): Promise<string[]>;
  /** Start a container and wait until it is healthy. */
  startHealthy(container: string): Promise<void>;
}

/** What a restore does for one service. */
export interface ServiceRestore {
  service: string;
  /** Its containers to stop during the restore (not its databases). */
  stop: string[];
  /** Volumes restored from the snapshot's files. */
  volumes: string[];
  /** Loads from what was kept elsewhere (after the volumes). */
  commands: { volume: string; container: string; command: string[] }[];
  /** Databases restored from their dumps: host, database, user, and the network they are reached on. */
  databases: { host: string; database: string; user: string; network: string }[];
}

const BACKUP_CONTAINER = "backup";

/** The service a volume belongs to: that of the first container (not the backup's) that mounts it. */
function ownerOf(rendered: RenderedStack, volume: string): RenderedContainer | undefined {
  return rendered.containers.find((c) => c.name !== BACKUP_CONTAINER && c.volumes.some((v) => v.kind === "volume" && v.source === volume));
}

/** The restore of each service that has data, in the order of the stack's containers; only `service` when given. */
export function restorePlan(rendered: RenderedStack, service?: string): ServiceRestore[] {
  const declared = rendered.outputs.backup.volumes;
  const byService = new Map<string, ServiceRestore>();
  const entry = (name: string): ServiceRestore => {
    if (!byService.has(name)) byService.set(name, { service: name, stop: [], volumes: [], commands: [], databases: [] });
    return byService.get(name) as ServiceRestore;
  };
  for (const container of rendered.containers) {
    if (container.name === BACKUP_CONTAINER) continue;
    const kept = declared.filter((d) => ownerOf(rendered, d.volume)?.name === container.name && isKept(d));
    if (kept.length === 0) continue;
    const restore = entry(container.service);
    for (const d of kept) {
      if (d.keep === "files" || d.keep === "export") restore.volumes.push(d.volume);
      if (d.keep === "elsewhere" && d.restore) restore.commands.push({ volume: d.volume, ...d.restore });
      if (d.keep === "dump" && d.database) restore.databases.push({ ...d.database, network: container.networks[0] });
    }
  }
  for (const restore of byService.values()) {
    const databases = new Set(restore.databases.map((db) => db.host));
    restore.stop = rendered.containers
      .filter((c) => c.service === restore.service && !databases.has(c.name) && c.restart !== "no")
      .map((c) => c.name);
  }
  const plan = [...byService.values()];
  if (service === undefined) return plan;
  const chosen = plan.filter((r) => r.service === service);
  if (chosen.length === 0) {
    throw new Error(
      `--service ${service}: no data of that service is backed up on ${rendered.stack}; it has: ${plan.map((r) => r.service).join(", ")}`,
    );
  }
  return chosen;
}

function isKept(d: VolumeBackupSummary): boolean {
  return d.keep === "files" || d.keep === "export" || d.keep === "dump" || (d.keep === "elsewhere" && d.restore !== undefined);
}

/** `docker run` arguments of a one-off container of the backup image with the backup container's settings and secrets. */
function backupRunArgs(rendered: RenderedStack, target: RestoreTarget, name: string, volumes: string[], command: string[]): string[] {
  const backup = rendered.containers.find((c) => c.name === BACKUP_CONTAINER);
  if (!backup) throw new Error(`stack ${rendered.stack} runs no backup (infra:services.backup): nothing to restore from`);
  const ownMounts = backup.volumes.filter((v) => v.kind === "volume" && !v.target.startsWith(`${BACKUP_DATA_DIR}/`));
  return [
    "create",
    "--name",
    name,
    // Restores owners and modes into volumes of every service: root with these three, nothing else.
    "--cap-drop",
    "ALL",
    ...["CHOWN", "DAC_OVERRIDE", "FOWNER"].flatMap((cap) => ["--cap-add", cap]),
    "--security-opt",
    "no-new-privileges:true",
    "--memory",
    `${backup.memoryMb}m`,
    "--user",
    "root",
    ...Object.entries(backup.env)
      .filter(([key]) => !backup.secretEnv.includes(key))
      .flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...ownMounts.flatMap((v) => [
      "--mount",
      `type=volume,source=${target.name(v.source)},target=${v.target}${v.target === SECRETS_DIR ? ",readonly" : ""}`,
    ]),
    ...volumes.flatMap((v) => ["--mount", `type=volume,source=${target.name(v)},target=${BACKUP_DATA_DIR}/${v}`]),
    "--network",
    target.name(backup.networks[0]),
    "--entrypoint",
    command[0],
    backup.image,
    ...command.slice(1),
  ];
}

/** Create, connect to more networks, run to the end, remove: a one-off container; its output is logged. */
async function runOnce(target: RestoreTarget, createArgs: string[], name: string, networks: string[], log: (line: string) => void) {
  await target.docker(createArgs);
  try {
    for (const network of networks) await target.docker(["network", "connect", target.name(network), name]);
    const output = await target.docker(["start", "--attach", name]);
    output
      .split("\n")
      .filter(Boolean)
      .forEach((line) => log(`  ${line}`));
    const code = (await target.docker(["inspect", "-f", "{{.State.ExitCode}}", name])).trim();
    if (code !== "0") throw new Error(`${name} exited with ${code}:\n${output}`);
  } finally {
    await target.docker(["rm", "-f", name]).catch(() => undefined);
  }
}

/** Restore the services of `plan` from `snapshot` (a restic snapshot id, or `latest`). */
export async function restore(
  rendered: RenderedStack,
  target: RestoreTarget,
  options: { snapshot: string; service?: string },
  log: (line: string) => void = console.log,
): Promise<void> {
  const plan = restorePlan(rendered, options.service);
  const existing = new Set(await target.existing());
  const oneOff = (what: string) => target.name(`restore-${what}-${randomBytes(3).toString("hex")}`);
  for (const step of plan) {
    const stopped = step.stop.filter((c) => existing.has(c));
    log(`== ${step.service}: stopping ${stopped.join(", ") || "(nothing running)"}`);
    for (const container of stopped) await target.docker(["stop", "-t", "90", target.name(container)]);
    if (step.volumes.length > 0) {
      log(`   restoring volumes ${step.volumes.join(", ")} from snapshot ${options.snapshot}`);
      const paths = step.volumes.map((v) => `${BACKUP_DATA_DIR}/${v}`).join(" ");
      const name = oneOff("files");
      await runOnce(
        target,
        backupRunArgs(rendered, target, name, step.volumes, ["backup-restore", options.snapshot, "--paths", paths]),
        name,
        [],
        log,
      );
    }
    for (const command of step.commands) {
      log(`   loading ${command.volume} (${command.container}'s image)`);
      const spec = rendered.containers.find((c) => c.name === command.container);
      if (!spec) throw new Error(`${command.volume}: its restore runs in ${command.container}, which the stack does not have`);
      const name = oneOff("load");
      const args = [
        "create",
        "--name",
        name,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        ...(spec.user ? ["--user", spec.user] : []),
        ...spec.volumes
          .filter((v) => v.kind === "volume" && v.target !== SECRETS_DIR)
          .flatMap((v) => ["--mount", `type=volume,source=${target.name(v.source)},target=${v.target}`]),
        "--network",
        "none",
        "--entrypoint",
        command.command[0],
        spec.image,
        ...command.command.slice(1),
      ];
      await runOnce(target, args, name, [], log);
    }
    for (const db of step.databases) {
      log(`   restoring database ${db.database} on ${db.host}`);
      if (!existing.has(db.host))
        throw new Error(`database ${db.host} does not exist: run pulumi up first (it restores into the running, fresh server)`);
      const name = oneOff("db");
      const entry = `${db.host}/${db.database}/${db.user}`;
      await runOnce(
        target,
        backupRunArgs(rendered, target, name, [], ["backup-restore", options.snapshot, "--databases", entry]),
        name,
        [db.network],
        log,
      );
    }
    for (const container of stopped) {
      log(`   starting ${container}`);
      await target.startHealthy(container);
    }
  }
  log("restore: done");
}

/** The docker CLI against an engine (`-H unix:///...` or `ssh://user@host`). */
function dockerCli(host: string): RestoreTarget {
  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile("docker", ["-H", host, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`docker ${args[0]}: ${stderr || error.message}`)) : resolve(stdout + stderr),
      ),
    );
  return {
    docker: run,
    name: (name) => name,
    existing: async () => (await run(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean),
    startHealthy: async (container) => {
      await run(["start", container]);
      const deadline = Date.now() + 300_000;
      for (;;) {
        const state = (
          await run(["inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", container])
        ).trim();
        if (state === "running healthy" || state === "running") return;
        if (Date.now() > deadline) throw new Error(`${container} is not healthy after 5 minutes (${state}): docker logs ${container}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string" },
      snapshot: { type: "string", default: "latest" },
      service: { type: "string" },
    },
  });
  if (!values.stack) throw new Error("usage: npm run restore -- --stack <host> [--snapshot <id>] [--service <name>]");
  const rendered = await renderStack(values.stack);
  await restore(rendered, dockerCli(rendered.config.docker), { snapshot: values.snapshot, service: values.service });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
