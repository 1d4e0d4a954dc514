import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { HostContext, Route } from "./host-context";
import { goDuration } from "./provider-forms";
import type { PinnedImage } from "./images";
import { SECRETS_TO_ENV_PATH, SECRETS_TO_ENV_SCRIPT, secretsToEnvStart, type UpstreamStart } from "./secrets-to-env";

/**
 * THE place where containers are created. Every service goes through `serviceContainer`, so the
 * hardening below applies to all of them; the same rules are checked by policy/ and the unit tests.
 *
 * Defaults: not privileged, no-new-privileges, every capability dropped, a memory limit and a
 * healthcheck required, restart unless-stopped, rotated json-file logs, image passed by id,
 * nothing published. Lifting a default is explicit: `capAdd` and `exceptions` carry a one-line why,
 * stored as labels, so that `npm run plan` and the policy pack both see it.
 */

/** Capabilities a service may add back, each with its reason. */
export type Capability =
  | "CHOWN"
  | "DAC_OVERRIDE"
  | "FOWNER"
  | "FSETID"
  | "KILL"
  | "SETGID"
  | "SETUID"
  | "NET_BIND_SERVICE"
  | "SYS_CHROOT"
  | "MKNOD"
  | "AUDIT_WRITE"
  | "SYS_ADMIN";

/** What the container is for; databases and caches may only join internal networks. */
export type ContainerRole = "app" | "database" | "cache" | "proxy" | "job";

/** Hardening defaults that a container may lift, with a reason. */
export interface HardeningExceptions {
  /** Publish ports on the host (only the proxy and mail need this). */
  publishPorts?: string;
  /** Mount the Docker socket (only the proxy, read-only, to read routes from labels). */
  dockerSocket?: string;
}

/** Where a container finds its secrets: one file per variable, `/run/secrets/<VAR>`. */
export const SECRETS_DIR = "/run/secrets";

export interface Healthcheck {
  /** Docker form: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  test: string[];
  intervalSeconds?: number;
  timeoutSeconds?: number;
  retries?: number;
  startPeriodSeconds?: number;
}

export interface VolumeMount {
  /** A named volume, or an absolute host path (only for sockets and host files, never data). */
  source: docker.Volume | string;
  target: string;
  readOnly?: boolean;
}

export interface PublishedPort {
  container: number;
  host: number;
  protocol?: "tcp" | "udp";
  /** Host address to bind; all addresses when omitted. */
  ip?: string;
}

export interface ServiceContainerArgs {
  /** Service the container belongs to (plan column, label infra.service). */
  service: string;
  role: ContainerRole;
  image: PinnedImage;
  networks: { network: docker.Network; aliases?: string[] }[];
  memoryMb: number;
  healthcheck: Healthcheck;
  env?: Record<string, pulumi.Input<string>>;
  /**
   * Secrets by variable name, never in the environment (where `docker inspect` shows them to anyone who
   * may use the Docker API): each is written to `/run/secrets/<VAR>` before the container starts, mode
   * 0400, owned by `secretsOwner`, and the container gets `<VAR>_FILE=/run/secrets/<VAR>` instead. That is
   * the convention of the official images (postgres, nextcloud), of lego and of our entrypoints. For an image
   * that reads them from its environment only, see `secretsToEnv`.
   */
  secretEnv?: Record<string, pulumi.Input<string>>;
  /**
   * For an upstream image that reads its secrets from its environment and nowhere else: the image's own
   * ENTRYPOINT and CMD, as read from its sources (say where). The container then starts the wrapper of
   * platform/secrets-to-env.ts, which exports each `secretEnv` variable from its file and execs them
   * unchanged, so that `docker inspect` shows the variables' names, never their values. Instead of
   * `entrypoint` and `command`; needs /bin/sh and cat in the image and a writable root filesystem (uploads).
   */
  secretsToEnv?: UpstreamStart;
  /**
   * `uid:gid` (numbers: the provider cannot read the image's user names) of the process that reads the
   * secret files. Default: the container's `user` when it is numeric, 0:0 when it is root or unset.
   */
  secretsOwner?: string;
  command?: string[];
  entrypoint?: string[];
  user?: string;
  volumes?: VolumeMount[];
  /** tmpfs mounts (path -> mount options), e.g. for a read-only root filesystem. */
  tmpfs?: Record<string, string>;
  readOnlyRootfs?: boolean;
  /** Files written into the container before it starts (rendered config). */
  files?: { path: string; content: pulumi.Input<string> }[];
  routes?: Route[];
  ports?: PublishedPort[];
  capAdd?: Partial<Record<Capability, string>>;
  exceptions?: HardeningExceptions;
  /** One-shot containers (jobs) exit and are not restarted. */
  restart?: "unless-stopped" | "no";
  /**
   * How long the container may take to stop after its stop signal before it is killed, for `docker stop`,
   * a daemon restart and host shutdown (Docker's default: 10 s) and for Pulumi replacing or deleting it
   * (the provider's default: 0 s, an immediate kill). For daemons that flush or save on the way out.
   */
  stopGraceSeconds?: number;
}

export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" };

/** Create a hardened container named `name` on the host. */
export function serviceContainer(
  context: HostContext,
  name: string,
  args: ServiceContainerArgs,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  const hc = args.healthcheck;
  const timing = healthcheckTiming(hc);
  const oneShot = args.restart === "no";
  context.containers.push({
    name,
    service: args.service,
    oneShot,
    routes: args.routes ?? [],
    publishedPorts: (args.ports ?? []).map((port) => port.container),
    networks: args.networks.map(({ network }) => network),
  });
  const start = startOf(name, args);
  const secrets = secretFiles(context, name, args, opts);
  const carrier = args.readOnlyRootfs && secrets.uploads.length > 0 ? secretsCarrier(context, name, args, secrets, opts) : undefined;
  return new docker.Container(
    name,
    {
      name,
      image: args.image.id,
      envs: envList({ ...args.env, ...secrets.env }),
      command: start.command,
      entrypoints: start.entrypoint,
      user: args.user,
      restart: args.restart ?? "unless-stopped",
      // A one-shot job has exited after its run; that is its success, not drift to repair on refresh.
      mustRun: args.restart !== "no",
      memory: args.memoryMb,
      memorySwap: args.memoryMb,
      privileged: false,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: Object.keys(args.capAdd ?? {}).sort() },
      readOnly: args.readOnlyRootfs ?? false,
      tmpfs: args.tmpfs,
      // Durations in the form the provider reads back (platform/provider-forms.ts): no perpetual diff.
      healthcheck: {
        tests: hc.test,
        interval: goDuration(timing.interval),
        timeout: goDuration(timing.timeout),
        retries: timing.retries,
        startPeriod: goDuration(timing.startPeriod),
      },
      // `pulumi up` waits for a long-running container to be healthy and fails when it is not (a daemon
      // that cannot start, e.g. for lack of a certificate, must not be reported as deployed).
      wait: !oneShot,
      waitTimeout: oneShot ? undefined : healthyWithinSeconds(timing),
      // Read back as whole seconds (Config.StopTimeout); the provider stops with destroyGraceSeconds before a
      // delete or a replacement, and with no grace at all when it is unset.
      stopTimeout: args.stopGraceSeconds,
      destroyGraceSeconds: args.stopGraceSeconds,
      logDriver: "json-file",
      logOpts: LOG_OPTIONS,
      networksAdvanced: args.networks.map(({ network, aliases }) => ({ name: network.name, aliases: aliases ?? [] })),
      ports: (args.ports ?? []).map((p) => ({
        internal: p.container,
        external: p.host,
        protocol: p.protocol ?? "tcp",
        ip: p.ip ?? "0.0.0.0",
      })),
      volumes: [...(args.volumes ?? []), ...secrets.volumes].map((v) =>
        typeof v.source === "string"
          ? { hostPath: v.source, containerPath: v.target, readOnly: v.readOnly ?? false }
          : { volumeName: v.source.name, containerPath: v.target, readOnly: v.readOnly ?? false },
      ),
      uploads: orUndefined([
        ...(args.files ?? []).map((f) => ({ file: f.path, content: f.content })),
        ...start.uploads,
        ...(carrier ? [] : secrets.uploads),
      ]),
      labels: labelList({
        "infra.service": args.service,
        "infra.role": args.role,
        ...prefixKeys("infra.cap.", args.capAdd ?? {}),
        ...prefixKeys("infra.exception.", { ...args.exceptions }),
        ...context.routeLabels(name, args.routes ?? []),
        // The carrier's id: a changed secret replaces the carrier, hence this container, which reads it at start.
        ...(carrier ? { [SECRETS_CARRIER_LABEL]: carrier.id } : {}),
      }),
    },
    // A named container must be removed before its replacement can take the name.
    {
      ...opts,
      provider: context.provider,
      deleteBeforeReplace: true,
      dependsOn: carrier ? [...dependencies(opts.dependsOn), carrier] : opts.dependsOn,
    },
  );
}

/** Label of a container whose secrets a carrier holds: the carrier's id. */
export const SECRETS_CARRIER_LABEL = "infra.secrets-carrier";
/** Label of a carrier: the container whose secrets it holds. */
export const SECRETS_FOR_LABEL = "infra.secrets-for";
/** A carrier's memory limit (Docker's minimum is 6 MiB); outside the host's budget, which counts running containers. */
const CARRIER_MEMORY_MB = 16;

/**
 * Why a carrier: the Docker provider writes every upload through the container's root (CopyToContainer to
 * "/", terraform-provider-docker's resource_docker_container_funcs.go), and Docker refuses any copy to a
 * read-only root filesystem ("container rootfs is marked read-only"), even one whose files land in a volume.
 * So a read-only container's secret files are uploaded into `<name>-secrets`, a container of the same image
 * that is created and never started (no network, no capability, no process), with the secrets volume at
 * /run/secrets: the files land in the volume, which the read-only container mounts read-only.
 */
function secretsCarrier(
  context: HostContext,
  name: string,
  args: ServiceContainerArgs,
  secrets: ReturnType<typeof secretFiles>,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  const carrier = `${name}-secrets`;
  return new docker.Container(
    carrier,
    {
      name: carrier,
      image: args.image.id,
      start: false,
      mustRun: false,
      wait: false,
      restart: "no",
      // Never started by Pulumi; should someone start it (the tech API allows `docker start`), it stays small.
      memory: CARRIER_MEMORY_MB,
      memorySwap: CARRIER_MEMORY_MB,
      networkMode: "none",
      privileged: false,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      logDriver: "json-file",
      logOpts: LOG_OPTIONS,
      volumes: secrets.volumes.map((v) => ({ volumeName: (v.source as docker.Volume).name, containerPath: v.target, readOnly: false })),
      uploads: secrets.uploads,
      labels: labelList({ "infra.service": args.service, [SECRETS_FOR_LABEL]: name }),
    },
    { parent: opts.parent, provider: context.provider, deleteBeforeReplace: true },
  );
}

/** A `dependsOn` option as a list (services give a list or one resource, never an Output of them). */
function dependencies(dependsOn: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (dependsOn === undefined) return [];
  return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}

/** The container's entrypoint and command, and the wrapper's upload when its secrets go to its environment. */
function startOf(
  name: string,
  args: ServiceContainerArgs,
): { entrypoint?: string[]; command?: string[]; uploads: docker.types.input.ContainerUpload[] } {
  if (!args.secretsToEnv) return { entrypoint: args.entrypoint, command: args.command, uploads: [] };
  const names = Object.keys(args.secretEnv ?? {}).sort();
  const problem =
    args.entrypoint || args.command
      ? "give the image's start in secretsToEnv only, not also as entrypoint or command"
      : names.length === 0
        ? "secretsToEnv without secretEnv: there is no secret to export"
        : args.readOnlyRootfs
          ? `secretsToEnv needs a writable root filesystem (the wrapper is uploaded to ${SECRETS_TO_ENV_PATH})`
          : undefined;
  if (problem) throw new Error(`container ${name}: ${problem}`);
  const { entrypoint, command } = secretsToEnvStart(names, args.secretsToEnv);
  return {
    entrypoint,
    command: orUndefined(command),
    // Root-owned and not writable by the container's user, who could otherwise replace what runs at start;
    // `executable` too, should the provider not apply `permissions` (docs/first-deployment.md).
    uploads: [{ file: SECRETS_TO_ENV_PATH, content: SECRETS_TO_ENV_SCRIPT, permissions: "0555", executable: true, owner: "0", group: "0" }],
  };
}

/**
 * The files, `_FILE` variables and mounts that hand `secretEnv` to the container. The files are uploaded
 * into the container before it starts; a read-only root filesystem refuses uploads, so such a container
 * gets a volume of its own at /run/secrets (deleted with the stack, never backed up), mounted read-only,
 * which its carrier receives the files into (`secretsCarrier`).
 */
function secretFiles(
  context: HostContext,
  name: string,
  args: ServiceContainerArgs,
  opts: pulumi.CustomResourceOptions,
): { env: Record<string, string>; uploads: docker.types.input.ContainerUpload[]; volumes: VolumeMount[] } {
  const names = Object.keys(args.secretEnv ?? {}).sort();
  if (names.length === 0) return { env: {}, uploads: [], volumes: [] };
  const [uid, gid] = secretsOwner(name, args.user, args.secretsOwner);
  const path = (key: string) => `${SECRETS_DIR}/${key}`;
  const volume = args.readOnlyRootfs
    ? new docker.Volume(`volume-${name}-secrets`, { name: `${name}-secrets` }, { parent: opts.parent, provider: context.provider })
    : undefined;
  return {
    env: Object.fromEntries(names.map((key) => [`${key}_FILE`, path(key)])),
    uploads: names.map((key) => ({
      file: path(key),
      content: pulumi.secret(args.secretEnv![key]),
      permissions: "0400",
      owner: uid,
      group: gid,
    })),
    volumes: volume ? [{ source: volume, target: SECRETS_DIR, readOnly: true }] : [],
  };
}

/** The numeric `[uid, gid]` owning a container's secret files: `secretsOwner`, else its numeric `user`, else root's. */
export function secretsOwner(name: string, user: string | undefined, secretsOwner: string | undefined): [string, string] {
  const owner = secretsOwner ?? (user === undefined || user === "root" ? "0:0" : user);
  const match = /^(\d+)(?::(\d+))?$/.exec(owner);
  if (!match) {
    throw new Error(
      `container ${name}: secretsOwner must be uid:gid in numbers (its user '${owner}' is a name, which the Docker provider cannot resolve in the image)`,
    );
  }
  return [match[1], match[2] ?? match[1]];
}

/** The healthcheck's timing with the defaults filled in. */
function healthcheckTiming(hc: Healthcheck) {
  return {
    interval: hc.intervalSeconds ?? 30,
    timeout: hc.timeoutSeconds ?? 5,
    retries: hc.retries ?? 3,
    startPeriod: hc.startPeriodSeconds ?? 30,
  };
}

/**
 * How long a healthy container may take to report so: its start period, then as many failed probes as
 * Docker tolerates before calling it unhealthy.
 */
export function healthyWithinSeconds(timing: ReturnType<typeof healthcheckTiming>): number {
  return timing.startPeriod + (timing.interval + timing.timeout) * (timing.retries + 1);
}

/** An empty list as no list at all: what the provider reads back (no diff). */
function orUndefined<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}

function envList(env: Record<string, pulumi.Input<string>>): pulumi.Output<string>[] {
  return Object.keys(env)
    .sort()
    .map((key) => pulumi.interpolate`${key}=${env[key]}`);
}

function labelList(labels: Record<string, pulumi.Input<string>>): { label: string; value: pulumi.Input<string> }[] {
  return Object.keys(labels)
    .sort()
    .map((label) => ({ label, value: labels[label] }));
}

function prefixKeys(prefix: string, values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, why]) => [prefix + key, why]),
  );
}
