import { SECRETS_DIR, SECRETS_FOR_LABEL } from "../platform/container";
import type { StackConfig } from "./schema";
import { filledPaths } from "./directory-stack";
import type { HostOutputs } from "./program";
import type { RenderedContainer, RenderedImage, RenderedResource, RenderedStack } from "./rendered";

/** Turn the recorded resources into the shape people and tests read (see docs/contracts.md). */
export function summarize(
  stack: string,
  config: StackConfig,
  resources: RenderedResource[],
  secrets: string[],
  outputs: HostOutputs,
): RenderedStack {
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const images: RenderedImage[] = ofType("docker:index/remoteImage:RemoteImage").map((r) => ({
    ref: r.inputs.name,
    id: r.outputs.imageId,
    build: r.inputs.build ? { context: r.inputs.build.context, buildArgs: r.inputs.build.buildArgs ?? {} } : null,
  }));
  const all = ofType("docker:index/container:Container")
    .map((r) => container(r.inputs, images, secrets))
    .sort((a, b) => a.name.localeCompare(b.name));
  const carriers = all.filter((c) => c.secretsFor !== null);
  // A read-only container's secrets are the files its carrier received, into the volume it mounts.
  const containers = all
    .filter((c) => c.secretsFor === null)
    .map((c) => {
      const carrier = carriers.find((k) => k.secretsFor === c.name);
      return carrier ? { ...c, secretsCarrier: carrier.name, secrets: { ...c.secrets, ...carrier.secrets } } : c;
    });
  const usedMb = containers.reduce((sum, c) => sum + c.memoryMb, 0);
  return {
    stack,
    config,
    resources,
    containers,
    carriers,
    networks: ofType("docker:index/network:Network")
      .map((r) => ({ name: r.inputs.name as string, internal: r.inputs.internal === true }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    volumes: ofType("docker:index/volume:Volume")
      .map((r) => ({ name: r.inputs.name as string }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    images,
    routes: containers
      .flatMap((c) =>
        Object.entries(c.labels)
          .filter(([label]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(label))
          .map(([, rule]) => ({ url: `https://${/Host\(`([^`]+)`\)/.exec(rule)?.[1]}`, container: c.name })),
      )
      .sort((a, b) => a.url.localeCompare(b.url)),
    dns: outputs.dns,
    memory: { budgetMb: config.memoryBudgetMb, usedMb, withinBudget: usedMb <= config.memoryBudgetMb },
    provisioning: outputs.provisioning ?? null,
    references: config.directoryStack ? [{ stack: config.directoryStack, values: filledPaths(config) }] : [],
    outputs,
    secrets,
  };
}

function container(inputs: Record<string, any>, images: RenderedImage[], secrets: string[]): RenderedContainer {
  const env: Record<string, string> = {};
  for (const entry of (inputs.envs ?? []) as string[]) {
    const at = entry.indexOf("=");
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  const labels: Record<string, string> = Object.fromEntries(
    ((inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
  );
  const networks = (inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
  const hc = inputs.healthcheck as
    { tests?: string[]; interval: string; timeout: string; retries: number; startPeriod: string } | undefined;
  return {
    name: inputs.name,
    service: labels["infra.service"] ?? "",
    role: labels["infra.role"] ?? "",
    image: images.find((i) => i.id === inputs.image)?.ref ?? inputs.image,
    networks: networks.map((n) => n.name),
    networkMode: inputs.networkMode ?? null,
    aliases: Object.fromEntries(networks.map((n) => [n.name, n.aliases ?? []])),
    ports: ((inputs.ports ?? []) as any[]).map((p) => ({
      host: p.external,
      container: p.internal,
      protocol: p.protocol ?? "tcp",
      ip: p.ip ?? "0.0.0.0",
    })),
    volumes: ((inputs.volumes ?? []) as any[]).map((v) => ({
      source: v.volumeName ?? v.hostPath,
      target: v.containerPath,
      readOnly: v.readOnly === true,
      kind: v.volumeName ? "volume" : "host",
    })),
    env,
    secretEnv: Object.keys(env).filter((key) => secrets.some((secret) => env[key].includes(secret))),
    memoryMb: inputs.memory ?? 0,
    restart: inputs.restart ?? "no",
    healthcheck: (hc?.tests?.length ?? 0) > 0,
    healthcheckSpec: hc?.tests?.length
      ? { test: hc.tests, interval: hc.interval, timeout: hc.timeout, retries: hc.retries, startPeriod: hc.startPeriod }
      : null,
    privileged: inputs.privileged === true,
    noNewPrivileges: ((inputs.securityOpts ?? []) as string[]).includes("no-new-privileges:true"),
    capDrop: inputs.capabilities?.drops ?? [],
    capAdd: inputs.capabilities?.adds ?? [],
    readOnly: inputs.readOnly === true,
    user: inputs.user ?? null,
    command: inputs.command ?? [],
    entrypoint: inputs.entrypoints ?? [],
    tmpfs: inputs.tmpfs ?? {},
    files: ((inputs.uploads ?? []) as any[]).map((u) => ({
      path: u.file,
      content: u.content,
      mode: u.permissions ?? "0644",
      owner: `${u.owner ?? 0}:${u.group ?? 0}`,
    })),
    secrets: Object.fromEntries(
      ((inputs.uploads ?? []) as any[])
        .filter((u) => (u.file as string).startsWith(`${SECRETS_DIR}/`))
        .map((u) => [(u.file as string).slice(SECRETS_DIR.length + 1), u.content as string]),
    ),
    labels,
    start: inputs.start !== false,
    secretsFor: labels[SECRETS_FOR_LABEL] ?? null,
    secretsCarrier: null,
    exceptions: Object.fromEntries(
      Object.entries(labels)
        .filter(([label]) => label.startsWith("infra.exception."))
        .map(([label, why]) => [label.slice("infra.exception.".length), why]),
    ),
  };
}
