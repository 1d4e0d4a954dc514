import type { ProvisioningSummary } from "../hosts/summary";
import type { DnsRecord } from "../platform/dns";
import type { HostOutputs } from "./program";
import type { StackConfig } from "./schema";

/**
 * What a render records (stacks/render.ts) and every consumer reads: the plan, the unit tests and the
 * integration harness. docs/contracts.md describes the plan's JSON form.
 */

export interface RenderedResource {
  type: string;
  name: string;
  /** Inputs as the provider would receive them; secret values included (they are only mock values). */
  inputs: Record<string, any>;
  /** Outputs the mock provider computed (image ids, generated passwords). */
  outputs: Record<string, any>;
  /** Resource options that change how Pulumi replaces, deletes or orders the resource. */
  options: { deleteBeforeReplace: boolean; retainOnDelete: boolean; dependsOn: string[] };
}

export interface RenderedContainer {
  name: string;
  service: string;
  role: string;
  /** Pinned image reference (what the plan shows). */
  image: string;
  networks: string[];
  /** Docker's network mode when the container joins no network of ours ("none" for a carrier), else null. */
  networkMode: string | null;
  aliases: Record<string, string[]>;
  ports: { host: number; container: number; protocol: string; ip: string }[];
  volumes: { source: string; target: string; readOnly: boolean; kind: "volume" | "host" }[];
  env: Record<string, string>;
  /** Env keys whose value holds a secret: none (secrets are files, tests/unit/foundation/secret-files.test.ts). */
  secretEnv: string[];
  /** Secrets handed as files (platform/container.ts `secretEnv`): variable name to value. */
  secrets: Record<string, string>;
  memoryMb: number;
  restart: string;
  healthcheck: boolean;
  healthcheckSpec: { test: string[]; interval: string; timeout: string; retries: number; startPeriod: string } | null;
  privileged: boolean;
  noNewPrivileges: boolean;
  capDrop: string[];
  capAdd: string[];
  readOnly: boolean;
  user: string | null;
  command: string[];
  entrypoint: string[];
  tmpfs: Record<string, string>;
  /** Files written into the container before it starts; `mode` in octal, `owner` as uid:gid. */
  files: { path: string; content: string; mode: string; owner: string }[];
  labels: Record<string, string>;
  /**
   * false for a secrets carrier, created and never started (platform/container.ts `secretsCarrier`): it only
   * receives a read-only container's secret files into their volume.
   */
  start: boolean;
  /** A carrier: the container whose secret files it receives. */
  secretsFor: string | null;
  /** A read-only container with secrets: the name of its carrier (in `RenderedStack.carriers`). */
  secretsCarrier: string | null;
  /** Hardening defaults this container lifts, with their reason (labels infra.exception.*). */
  exceptions: Record<string, string>;
}

export interface RenderedImage {
  ref: string;
  id: string;
  /** Set for our own images on `local`: the folder and build arguments to build them from. */
  build: { context: string; buildArgs: Record<string, string> } | null;
}

export interface RenderedStack {
  stack: string;
  config: StackConfig;
  resources: RenderedResource[];
  /** The containers that run (everything the plan, status and smoke checks list). */
  containers: RenderedContainer[];
  /** Secrets carriers: never started, each shown with the container it serves (`secretsFor`). */
  carriers: RenderedContainer[];
  networks: { name: string; internal: boolean }[];
  volumes: { name: string }[];
  images: RenderedImage[];
  routes: { url: string; container: string }[];
  dns: DnsRecord[];
  memory: { budgetMb: number; usedMb: number; withinBudget: boolean };
  /** What a remote host is prepared with over SSH (hosts/); null on local. */
  provisioning: ProvisioningSummary | null;
  /** Values this stack reads from other stacks (StackReference), by key path of its config. */
  references: { stack: string; values: string[] }[];
  /** The stack's outputs (`pulumi stack output`), secrets included as values. */
  outputs: HostOutputs;
  /** Every secret value the mocks produced or the stack file encrypted: never printed. */
  secrets: string[];
}
