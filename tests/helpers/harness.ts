import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderStack, type RenderedContainer, type RenderedStack } from "../../stacks/render";
import { docker, dockerOk, type ExecResult } from "./docker";
import { containerOf } from "./rendered";

/**
 * Start containers of a rendered stack on the local Docker engine, exactly as the stack declares them
 * (image, env, command, user, networks, volumes, files, hardening), each after the secrets carrier it
 * depends on (created and given its files, never started). Docker names get a per-run prefix,
 * and each container answers to its rendered name on its networks, so that the stack's own host names
 * work. Ports are not published: tests reach containers at their addresses (`ip`).
 */

const REPO_ROOT = path.resolve(__dirname, "../..");

export interface RunningStack {
  rendered: RenderedStack;
  prefix: string;
  spec(name: string): RenderedContainer;
  ip(name: string): Promise<string>;
  exec(name: string, cmd: string[], options?: { user?: string; input?: string }): Promise<ExecResult>;
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  restart(name: string): Promise<void>;
  recreate(name: string): Promise<void>;
  waitHealthy(name: string, timeoutMs?: number): Promise<void>;
  logs(name: string): Promise<string>;
  runOnNetwork(
    network: string,
    image: string,
    cmd: string[],
    options?: { input?: string; env?: Record<string, string> },
  ): Promise<ExecResult>;
  /** Run a command in a one-off container of `name`'s image, user and volumes (offline tools, while `name` is stopped). */
  runOnVolumes(name: string, cmd: string[], options?: { input?: string }): Promise<ExecResult>;
  teardown(): Promise<void>;
}

export interface StackOptions {
  stack?: string;
  containers: string[];
  rendered?: RenderedStack;
  /** Probe health at the stack's own interval, as on a host: benchmarks, which a probe every second would disturb. */
  stackHealthInterval?: boolean;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const rendered = options.rendered ?? (await renderStack(options.stack ?? "local"));
  const prefix = `it${randomBytes(3).toString("hex")}-`;
  const specs = options.containers.map((name) => containerOf(rendered, name));
  const running = new Harness(rendered, prefix, options.stackHealthInterval ?? false);
  try {
    for (const spec of specs) await running.prepare(spec);
    for (const spec of specs) {
      // Created first, as Pulumi does (the container dependsOn it): the files are in the volume before the container starts.
      const carrier = rendered.carriers.find((c) => c.secretsFor === spec.name);
      if (carrier) await running.create(carrier);
      await running.create(spec);
    }
    for (const spec of specs) {
      await running.start(spec.name);
      // One-shot jobs exit; only long-running containers must become healthy.
      if (spec.restart !== "no") await running.waitHealthy(spec.name);
    }
  } catch (error) {
    await running.teardown();
    throw error;
  }
  return running;
}

/** Build an image of ours once per process (Docker's layer cache makes rebuilds cheap anyway). */
const built = new Map<string, Promise<void>>();
export function buildImage(rendered: RenderedStack, ref: string): Promise<void> {
  const image = rendered.images.find((i) => i.ref === ref);
  if (!image?.build) {
    throw new Error(`image ${ref} is not built from this repository; third-party images cannot be pulled here`);
  }
  const { context, buildArgs } = image.build;
  if (!built.has(ref)) {
    const args = ["build", "-q", "-t", ref, ...Object.entries(buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`])];
    built.set(
      ref,
      dockerOk([...args, path.join(REPO_ROOT, context)], { timeoutMs: 900_000 }).then(() => undefined),
    );
  }
  return built.get(ref) as Promise<void>;
}

class Harness implements RunningStack {
  private readonly containers = new Map<string, RenderedContainer>();
  private readonly networks = new Set<string>();
  private readonly volumes = new Set<string>();

  constructor(
    readonly rendered: RenderedStack,
    readonly prefix: string,
    private readonly stackHealthInterval: boolean,
  ) {}

  spec(name: string): RenderedContainer {
    return containerOf(this.rendered, name);
  }

  async prepare(spec: RenderedContainer): Promise<void> {
    await buildImage(this.rendered, spec.image);
    for (const network of spec.networks) {
      if (this.networks.has(network)) continue;
      const internal = this.rendered.networks.find((n) => n.name === network)?.internal ?? false;
      await dockerOk(["network", "create", ...(internal ? ["--internal"] : []), this.prefix + network]);
      this.networks.add(network);
    }
    for (const volume of spec.volumes.filter((v) => v.kind === "volume")) {
      if (this.volumes.has(volume.source)) continue;
      await dockerOk(["volume", "create", this.prefix + volume.source]);
      this.volumes.add(volume.source);
    }
  }

  async create(spec: RenderedContainer): Promise<void> {
    const [firstNetwork, ...otherNetworks] = spec.networks;
    const hc = spec.healthcheckSpec;
    const [entrypoint, ...entrypointArgs] = spec.entrypoint;
    const args = [
      "create",
      "--name",
      this.prefix + spec.name,
      "--hostname",
      spec.name,
      "--memory",
      `${spec.memoryMb}m`,
      "--memory-swap",
      `${spec.memoryMb}m`,
      "--restart",
      spec.restart,
      "--cap-drop",
      "ALL",
      ...spec.capAdd.flatMap((cap) => ["--cap-add", cap]),
      ...(spec.noNewPrivileges ? ["--security-opt", "no-new-privileges:true"] : []),
      ...(spec.privileged ? ["--privileged"] : []),
      ...(spec.readOnly ? ["--read-only"] : []),
      ...(spec.user ? ["--user", spec.user] : []),
      ...Object.entries(spec.tmpfs).flatMap(([target, opts]) => ["--tmpfs", opts ? `${target}:${opts}` : target]),
      ...Object.entries(spec.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
      ...Object.entries(spec.labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
      ...spec.volumes.flatMap((v) => [
        "--mount",
        v.kind === "volume"
          ? `type=volume,source=${this.prefix + v.source},target=${v.target}${v.readOnly ? ",readonly" : ""}`
          : `type=bind,source=${v.source},target=${v.target}${v.readOnly ? ",readonly" : ""}`,
      ]),
      ...(hc
        ? [
            "--health-cmd",
            healthCommand(hc.test),
            // The one timing that differs from the stack: tests probe every second so they do not wait a
            // whole interval (--health-start-interval would do it, but needs Docker API 1.44; Debian's engine speaks 1.41).
            "--health-interval",
            this.stackHealthInterval ? hc.interval : "1s",
            "--health-timeout",
            hc.timeout,
            "--health-retries",
            String(hc.retries),
            "--health-start-period",
            hc.startPeriod,
          ]
        : []),
      ...(firstNetwork ? ["--network", this.prefix + firstNetwork, "--network-alias", spec.name, ...aliasArgs(spec, firstNetwork)] : []),
      ...(spec.networkMode ? ["--network", spec.networkMode] : []),
      ...(entrypoint ? ["--entrypoint", entrypoint] : []),
      spec.image,
      ...entrypointArgs,
      ...spec.command,
    ];
    await dockerOk(args);
    for (const network of otherNetworks) {
      const aliases = [spec.name, ...(spec.aliases[network] ?? [])].flatMap((alias) => ["--alias", alias]);
      await dockerOk(["network", "connect", ...aliases, this.prefix + network, this.prefix + spec.name]);
    }
    await this.copyFiles(spec);
    this.containers.set(spec.name, spec);
  }

  /** Files as the provider uploads them: with their mode and owner (secrets: 0400, the reader's uid). */
  private async copyFiles(spec: RenderedContainer): Promise<void> {
    for (const file of spec.files) await copyFile(this.prefix + spec.name, file);
  }

  async ip(name: string): Promise<string> {
    const out = await dockerOk(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", this.prefix + name]);
    const ip = out.trim().split(/\s+/)[0];
    if (!ip) throw new Error(`container ${name} has no IP address (is it running?)`);
    return ip;
  }

  exec(name: string, cmd: string[], options: { user?: string; input?: string } = {}): Promise<ExecResult> {
    return docker(
      ["exec", ...(options.input !== undefined ? ["-i"] : []), ...(options.user ? ["-u", options.user] : []), this.prefix + name, ...cmd],
      { input: options.input },
    );
  }

  async stop(name: string): Promise<void> {
    await dockerOk(["stop", "-t", "20", this.prefix + name]);
  }

  async start(name: string): Promise<void> {
    await dockerOk(["start", this.prefix + name]);
  }

  async restart(name: string): Promise<void> {
    await dockerOk(["restart", "-t", "20", this.prefix + name]);
    await this.waitHealthy(name);
  }

  async recreate(name: string): Promise<void> {
    const spec = this.spec(name);
    await dockerOk(["rm", "-f", this.prefix + name]);
    await this.create(spec);
    await this.start(name);
    await this.waitHealthy(name);
  }

  async waitHealthy(name: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = (
        await dockerOk(["inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", this.prefix + name])
      ).trim();
      if (state === (this.spec(name).healthcheck ? "running healthy" : "running")) return;
      if (state.startsWith("exited") || state.startsWith("dead")) {
        throw new Error(`container ${name} stopped (${state}); logs:\n${await this.logs(name)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`container ${name} not healthy after ${timeoutMs} ms (${state}); logs:\n${await this.logs(name)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async logs(name: string): Promise<string> {
    const result = await docker(["logs", "--tail", "60", this.prefix + name]);
    return result.stdout + result.stderr;
  }

  runOnNetwork(
    network: string,
    image: string,
    cmd: string[],
    options: { input?: string; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    return docker(
      [
        "run",
        "--rm",
        ...(options.input !== undefined ? ["-i"] : []),
        "--network",
        this.prefix + network,
        ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
        image,
        ...cmd,
      ],
      { input: options.input },
    );
  }

  runOnVolumes(name: string, cmd: string[], options: { input?: string } = {}): Promise<ExecResult> {
    const spec = this.spec(name);
    const [entrypoint, ...args] = cmd;
    return docker(
      [
        "run",
        "--rm",
        ...(options.input !== undefined ? ["-i"] : []),
        "--volumes-from",
        this.prefix + name,
        ...(spec.user ? ["--user", spec.user] : []),
        "--entrypoint",
        entrypoint,
        spec.image,
        ...args,
      ],
      { input: options.input },
    );
  }

  async teardown(): Promise<void> {
    // Carriers among them: they were created like the others.
    const names = [...this.containers.keys()].map((name) => this.prefix + name);
    if (names.length > 0) await docker(["rm", "-f", "-v", ...names]);
    for (const network of this.networks) await docker(["network", "rm", this.prefix + network]);
    for (const volume of this.volumes) await docker(["volume", "rm", "-f", this.prefix + volume]);
  }
}

/**
 * One file of a rendered container copied into a created container as the provider uploads it: an archive
 * of the file at its full path, with its mode and numeric owner, copied to `/` (terraform-provider-docker's
 * CopyToContainer destination), which Docker refuses on a read-only root filesystem.
 */
export async function copyFile(container: string, file: { path: string; content: string; mode: string; owner: string }): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-"));
  try {
    const relative = file.path.replace(/^\/+/, "");
    fs.mkdirSync(path.join(dir, path.dirname(relative)), { recursive: true });
    fs.writeFileSync(path.join(dir, relative), file.content);
    const [owner, group] = file.owner.split(":");
    const tar = execFileSync("tar", [
      "--numeric-owner",
      `--owner=${owner}`,
      `--group=${group}`,
      `--mode=${file.mode}`,
      "-C",
      dir,
      "-cf",
      "-",
      relative,
    ]);
    await dockerOk(["cp", "-", `${container}:/`], { input: tar });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function aliasArgs(spec: RenderedContainer, network: string): string[] {
  return (spec.aliases[network] ?? []).flatMap((alias) => ["--network-alias", alias]);
}

/** Docker's CLI takes a healthcheck as one shell command. */
function healthCommand(test: string[]): string {
  const [kind, ...rest] = test;
  if (kind === "CMD-SHELL") return rest.join(" ");
  return rest.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(" ");
}
