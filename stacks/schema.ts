import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { HostProvisioningSettings } from "../hosts/settings";
import { AcmeSettings } from "../platform/acme-settings";
import { ImagesSettings } from "../platform/images-settings";
import { email, hostname } from "../platform/settings";
import { Partner } from "../platform/tenants";
import { ProxySettings } from "../services/proxy/settings";
import { serviceSchemas } from "./catalog";
import { duplicatePartners, STACK_RULES } from "./rules";
import { agentOpening } from "./watched-hosts";

/** Every key of a stack file lives under this namespace: `infra:domain`, `infra:services`, ... */
export const CONFIG_NAMESPACE = "infra";

const DockerHost = z.string().regex(/^(unix:\/\/\/\S+|ssh:\/\/[a-z_][a-z0-9_-]*@[a-z0-9.-]+(:\d{1,5})?)$/, {
  error: "expected unix:///var/run/docker.sock or ssh://user@host[:port]",
});

export const StackSettings = z
  .strictObject({
    /** The association's domain on this host; services live on sub-domains of it. */
    domain: hostname(),
    /** How Pulumi reaches the host's Docker engine. */
    docker: DockerHost.default("unix:///var/run/docker.sock"),
    /** Contact address given to Let's Encrypt; required when the proxy, the directory or the mail server uses ACME. */
    acmeEmail: email().optional(),
    /**
     * Certificates of the directory and the mail server (`tls: acme`): the ACME server and the registrar's
     * DNS API that proves the names are ours (platform/acme-settings.ts). The proxy keeps its own ACME.
     */
    acme: AcmeSettings.optional(),
    /**
     * The stack of the host that runs the directory, when it is another one (`organization/infra/pica02`):
     * the service accounts' passwords this host uses are read from its outputs (stacks/directory-stack.ts).
     */
    directoryStack: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+\/[\w.-]+$/, {
        error: "expected the stack's full name: <organization>/<project>/<stack>, e.g. organization/infra/pica02",
      })
      .optional(),
    /** Public IPv4 address of the host: the web services' A records point there (none on local). */
    publicIpv4: z.ipv4({ error: "expected an IPv4 address such as 203.0.113.10" }).optional(),
    /** Memory the containers may use together on this host (sum of their limits), in MiB. */
    memoryBudgetMb: z.int({ error: "expected a whole number of MiB" }).positive({ error: "expected a positive number of MiB" }),
    /** Where our own images (ldap, mail-*) come from: built here, or pulled at a pinned digest. */
    images: ImagesSettings,
    /** The services this host runs; a service that is absent does not run here. */
    services: z.strictObject({ proxy: ProxySettings, ...serviceSchemas }),
    /** Partner associations hosted here (each gets its own Nextcloud when the service runs). */
    partners: z
      .array(Partner)
      // Checked on the list itself, so that these are reported even when another setting is wrong.
      .superRefine((partners, ctx) => duplicatePartners(partners).forEach((problem) => ctx.addIssue({ code: "custom", ...problem })))
      .default([]),
    /** Remote hosts only: how Pulumi prepares the machine over SSH and where logins come from (hosts/settings.ts). */
    provisioning: HostProvisioningSettings.optional(),
  })
  // The rules across settings (stacks/rules.ts), once every setting is valid on its own.
  .superRefine((stack, ctx) => {
    for (const rule of STACK_RULES) rule(stack).forEach((problem) => ctx.addIssue({ code: "custom", ...problem }));
  })
  // Read from the monitoring host's stack file where a monitoring agent runs (stacks/watched-hosts.ts).
  .transform((stack) => {
    const agent = agentOpening(stack.services);
    return agent ? { ...stack, agent } : stack;
  });

export type StackConfig = z.output<typeof StackSettings>;

/** A user mistake in the stack config: printed as a list, never as a stack trace. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Validate a stack's settings (the `infra:*` keys, without the namespace).
 * `isEncrypted(path)` tells whether the value at that key path was encrypted in the stack file.
 * All problems are reported together, each with its key path.
 */
export function parseStackConfig(raw: Record<string, unknown>, isEncrypted: (path: string) => boolean): StackConfig {
  const result = StackSettings.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.map((issue) => formatIssue(issue, raw));
  for (const path of secretPaths(raw)) {
    if (!isEncrypted(path)) {
      problems.push(
        `${path}: is written in plain text; expected a secret (pulumi config set --secret --path '${CONFIG_NAMESPACE}:${path}' ...)`,
      );
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** Read and validate the current stack's config from the Pulumi runtime (real run or mocks). */
export function loadStackConfig(isEncrypted?: (path: string) => boolean): StackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  const secretTopKeys = new Set<string>();
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    raw[name] = parseConfigValue(value);
    if (isConfigSecret(key)) secretTopKeys.add(name);
  }
  // A real run only knows which top-level keys hold a secret (Pulumi marks the whole key);
  // `npm run plan` and the tests pass a finer check that looks at each value of the stack file.
  return parseStackConfig(raw, isEncrypted ?? ((path) => secretTopKeys.has(path.split(".")[0])));
}

/** Pulumi hands structured values to the program as JSON text and plain strings as they are. */
function parseConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function isConfigSecret(key: string): boolean {
  // The SDK exports this (as @internal) but leaves it out of its type declarations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an SDK internal, absent from its type declarations
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };
  return runtimeConfig.isConfigSecret(key);
}

function formatIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const path = issue.path.map(String).join(".") || "(stack)";
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => (path === "(stack)" ? k : `${path}.${k}`));
    return `${keys.join(", ")}: unknown setting; check the spelling against the service's settings`;
  }
  // A missing value gets the generic message unless its schema says more (e.g. how to obtain it).
  if (issue.code === "invalid_type" && valueAt(raw, issue.path) === undefined && issue.message.startsWith("Invalid input")) {
    return `${path}: is required; expected ${issue.expected}`;
  }
  return `${path}: ${issue.message}`;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, key) => (value && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined),
    raw,
  );
}

/** Key paths (dot-separated) of the values that the schema declares secret and the stack sets. */
export function secretPaths(raw: Record<string, unknown>): string[] {
  const found: string[] = [];
  walkSecrets(StackSettings, raw, [], found);
  return [...new Set(found)];
}

function walkSecrets(schema: z.ZodType, value: unknown, path: string[], found: string[]): void {
  if (value === undefined || value === null) return;
  const def = (schema as z.ZodType & { _zod: { def: { type: string } } })._zod.def as Record<string, unknown> & { type: string };
  if (z.globalRegistry.get(schema)?.secret === true) {
    found.push(path.join("."));
    return;
  }
  switch (def.type) {
    case "pipe":
      return walkSecrets(def.in as z.ZodType, value, path, found);
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
      return walkSecrets(def.innerType as z.ZodType, value, path, found);
    case "object":
      if (typeof value !== "object") return;
      for (const [key, child] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        walkSecrets(child, (value as Record<string, unknown>)[key], [...path, key], found);
      }
      return;
    case "record":
      if (typeof value !== "object" || Array.isArray(value)) return;
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        walkSecrets(def.valueType as z.ZodType, child, [...path, key], found);
      }
      return;
    case "union":
      // Each option that has a secret at this value's keys finds it (found once: the list is de-duplicated).
      for (const option of def.options as z.ZodType[]) walkSecrets(option, value, path, found);
      return;
    case "array":
      if (!Array.isArray(value)) return;
      value.forEach((item, index) => walkSecrets(def.element as z.ZodType, item, [...path, String(index)], found));
      return;
    default:
      return;
  }
}
