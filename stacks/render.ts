import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { DIRECTORY_PASSWORDS_OUTPUT, stackNameOf } from "./directory-stack";
import { CONFIG_NAMESPACE, ConfigError, loadStackConfig, type StackConfig } from "./schema";
import { Recorder as MockRecorder } from "./mocks";
import { readStackFile } from "./stack-files";
import { defineHost, type HostOutputs } from "./program";
import type { RenderedStack } from "./rendered";
import { summarize } from "./summarize";
import { stacksWatchedBy } from "./watched-hosts";
import type { WatchedHost } from "../platform/watched-host";

export { listStacks, readStackFile, STACKS_DIR, UnknownStackError } from "./stack-files";
export type { RenderedContainer, RenderedImage, RenderedResource, RenderedStack } from "./rendered";

/**
 * Run the real program under the Pulumi SDK's mock runtime and record every resource it registers.
 * No Pulumi CLI, no Docker, no network. The result is what `npm run plan` prints, what the unit tests
 * check, and what the integration tests start on a real Docker engine.
 */

/**
 * Render a stack from its file, or from a given `config:` map (tests feed bad configs this way).
 * A test may pass its own recorder to see what was registered even when rendering fails.
 */
export async function renderStack(
  stack: string,
  config?: Record<string, unknown>,
  recorder: Recorder = new Recorder(stack),
  options: RenderOptions = {},
): Promise<RenderedStack> {
  const { values, secretKeys, encryptedPaths, secrets } = mockConfig(stack, config ?? readStackFile(stack));
  secrets.forEach((secret) => recorder.secrets.add(secret));
  // A host that reads another host's directory: render that stack first, and answer the reference with
  // its outputs (its secrets stay secrets here too). Renders run one after the other: mocks are global.
  const directoryStack = values[`${CONFIG_NAMESPACE}:directoryStack`];
  if (directoryStack) {
    const referenced = await referencedStack(stackNameOf(directoryStack));
    recorder.stackOutputs.set(directoryStack, { outputs: { ...referenced.outputs }, secretOutputNames: [DIRECTORY_PASSWORDS_OUTPUT] });
    referenced.secrets.forEach((secret) => recorder.secrets.add(secret));
  }

  // A monitoring host: render the hosts it watches first (mocks are global), for what it scrapes and probes.
  const watchedHosts = options.watched === false ? [] : await renderWatchedHosts(stack, options.watchedConfigs);

  pulumi.runtime.setAllConfig(values, secretKeys);
  await pulumi.runtime.setMocks(recorder, "infra", stack, false);
  // Config mistakes are reported here, with the usual error machinery.
  const hostConfig = loadStackConfig((keyPath) => encryptedPaths.has(keyPath));
  // The SDK captures a stack trace for every promise it makes (for leak debugging only): about half the
  // time of a render. They are off while the program registers its resources, with the SDK's other
  // per-resource debugging aids; if that fails, the stack is rendered again with all of them, so that
  // the error says where it happened. `pulumi up` is unaffected.
  const limit = Error.stackTraceLimit;
  const bookkeeping = withoutDebugBookkeeping(!options.stackTraces);
  if (!options.stackTraces) Error.stackTraceLimit = 0;
  try {
    const outputs = await resolve(defineHost(stack, hostConfig, [recorder.observeOptions], watchedHosts));
    await waitForRegistrations();
    return recorder.result(hostConfig, outputs);
  } catch (error) {
    if (options.stackTraces) throw error;
    Error.stackTraceLimit = limit;
    return await renderStack(stack, config, new Recorder(stack), { ...options, stackTraces: true });
  } finally {
    Error.stackTraceLimit = limit;
    bookkeeping.restore();
  }
}

export interface RenderOptions {
  /** Render again with the SDK's stack traces (after a failure, for the error's location). */
  stackTraces?: boolean;
  /**
   * `false`: without the hosts this one watches. A stack rendered for another one (the directory stack a
   * host references, a watched host) is rendered so, which keeps two hosts that read each other from
   * rendering each other endlessly: neither what pica02 exports to pica01 nor what pica01 exports to pica02
   * depends on the hosts they watch.
   */
  watched?: boolean;
  /** Tests: the `config:` map of a watched stack instead of its file, by stack name. */
  watchedConfigs?: Record<string, Record<string, unknown>>;
}

/**
 * What the monitoring host `stack` scrapes and probes of each host whose agent names it
 * (stacks/watched-hosts.ts): each watched stack rendered, from its file or from `configs`.
 */
export async function renderWatchedHosts(stack: string, configs: Record<string, Record<string, unknown>> = {}): Promise<WatchedHost[]> {
  const hosts: WatchedHost[] = [];
  for (const watched of stacksWatchedBy(stack)) {
    const config = configs[watched] ?? readStackFile(watched);
    const key = `${watched}\0${JSON.stringify(config)}`;
    if (!watchedRenders.has(key)) {
      watchedRenders.set(
        key,
        renderStack(watched, config, undefined, { watched: false }).then(
          ({ outputs }) => outputs.watched,
          (error: unknown) => {
            // Said of the watched stack's file: the person deploying the monitoring host reads it.
            if (error instanceof ConfigError) throw new ConfigError(error.problems.map((p) => `${watched} (watched from ${stack}): ${p}`));
            throw error;
          },
        ),
      );
    }
    // Set by the program wherever the agent runs, which is what stacksWatchedBy found.
    const host = await watchedRenders.get(key)!;
    if (host) hosts.push(host);
  }
  return hosts;
}

/** Renders are deterministic: a watched stack is rendered once per process for a given config (tests render pica02 often). */
const watchedRenders = new Map<string, Promise<WatchedHost | undefined>>();

/**
 * Two more debugging aids of the SDK that a render pays for on every resource: where the program
 * created it (a full stack trace, parsed, for the engine's diagnostics), and the leak bookkeeping of
 * each of its promises (reported when a real program exits with some unresolved). A render has no
 * engine to tell and waits for every registration itself. Skipped while `skip`, restored by `restore()`.
 */
function withoutDebugBookkeeping(skip: boolean): { restore(): void } {
  // Internals of the SDK (Resource.callsites, static; runtime/debuggable), like waitForRPCs below.
  const resource = pulumi.Resource as unknown as { callsites(): unknown[] };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an SDK internal, absent from its type declarations
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> };
  const { callsites } = resource;
  const { debuggablePromise } = debuggable;
  if (skip) {
    resource.callsites = () => [];
    debuggable.debuggablePromise = (promise) => promise;
  }
  return {
    restore: () => {
      resource.callsites = callsites;
      debuggable.debuggablePromise = debuggablePromise;
    },
  };
}

/**
 * The outputs and secrets of a stack another one references, rendered once per process for a given
 * stack file (renders are deterministic): the tests render pica01 many times.
 */
const referencedRenders = new Map<string, Promise<Pick<RenderedStack, "outputs" | "secrets">>>();
function referencedStack(stack: string): Promise<Pick<RenderedStack, "outputs" | "secrets">> {
  const key = `${stack}\0${JSON.stringify(readStackFile(stack))}`;
  if (!referencedRenders.has(key)) {
    referencedRenders.set(
      key,
      renderStack(stack, undefined, undefined, { watched: false }).then(({ outputs, secrets }) => ({ outputs, secrets })),
    );
  }
  return referencedRenders.get(key)!;
}

/** Resolve an Output under the mock runtime (its value is always known there). */
function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply((value) => done(value)));
}

function waitForRegistrations(): Promise<void> {
  // Internal to the SDK, but the only way to know the mock monitor has seen every registration.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an SDK internal, absent from its type declarations
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  return settings.waitForRPCs();
}

/** A stand-in for a secret value: deterministic, so that two renders are identical. */
function mockSecret(stack: string, key: string, length = 32): string {
  return (
    "m" +
    createHash("sha256")
      .update(`${stack}\0${key}`)
      .digest("hex")
      .slice(0, length - 1)
  );
}

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).join() === "secure";
}

/**
 * Turn a stack file's config map into what the Pulumi CLI hands the program: strings as they are,
 * structured values as JSON, encrypted values decrypted (here: replaced by mock secrets). Also returns
 * the key paths (`services.mail.ovh.applicationSecret`) that were encrypted in the file.
 */
function mockConfig(stack: string, config: Record<string, unknown>) {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  const encryptedPaths = new Set<string>();
  const secrets: string[] = [];
  const replace = (value: unknown, keyPath: string[]): unknown => {
    if (isSecure(value)) {
      const secret = mockSecret(stack, keyPath.join("."));
      encryptedPaths.add(keyPath.join("."));
      secrets.push(secret);
      return secret;
    }
    if (Array.isArray(value)) return value.map((v, i) => replace(v, [...keyPath, String(i)]));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v, [...keyPath, k])]));
    }
    return value;
  };
  for (const [key, value] of Object.entries(config)) {
    const before = secrets.length;
    // Key paths are relative to the namespace: `infra:services` -> `services`.
    const plain = replace(value, [key.slice(key.indexOf(":") + 1)]);
    values[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
    if (secrets.length > before) secretKeys.push(key);
  }
  return { values, secretKeys, encryptedPaths, secrets };
}

export class Recorder extends MockRecorder {
  result(config: StackConfig, outputs: HostOutputs): RenderedStack {
    return summarize(this.stack, config, this.resources, [...this.secrets], outputs);
  }
}
