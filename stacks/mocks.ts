import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { mockRsaKey } from "./mock-rsa-key";
import type { RenderedResource } from "./rendered";

/**
 * Mock provider for the offline render: records what the program registers and answers with
 * deterministic outputs (ids, generated passwords, image ids), so that rendering twice gives the same.
 */

// How the SDK marks a secret value on the wire (@pulumi/pulumi/runtime/rpc: specialSigKey/specialSecretSig).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type OutputsOf = (args: pulumi.runtime.MockResourceArgs, seed: (salt: string) => string) => Record<string, unknown>;

/** Outputs a real provider would compute, by resource type. Other resources echo their inputs. */
const PROVIDER_OUTPUTS: Record<string, OutputsOf> = {
  "random:index/randomPassword:RandomPassword": (args, seed) => ({
    result: seed("password").slice(0, Number(args.inputs.length ?? 32)),
  }),
  "docker:index/remoteImage:RemoteImage": (args, seed) => ({
    imageId: `sha256:${seed("image")}${seed("image2")}`.slice(0, 71),
    repoDigest: args.inputs.name,
  }),
  // A real RSA pair, derived from the seed: renders are identical and DKIM signatures verify.
  "tls:index/privateKey:PrivateKey": (args, seed) => mockRsaKey(seed("key"), Number(args.inputs.rsaBits ?? 2048)),
};

const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const CONTAINER = "docker:index/container:Container";

export class Recorder implements pulumi.runtime.Mocks {
  readonly resources: RenderedResource[] = [];
  private readonly options = new Map<string, RenderedResource["options"]>();
  /** Values the mocks handed out as secrets, or saw marked secret: redacted wherever printed. */
  readonly secrets = new Set<string>();

  /** What `pulumi.StackReference(name)` reads, by the referenced stack's name (rendered beforehand). */
  readonly stackOutputs = new Map<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>();

  constructor(protected readonly stack: string) {}

  newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    if (args.type === STACK_REFERENCE) return this.readStackReference(args);
    const inputs = unwrapSecrets(args.inputs, this.secrets) as Record<string, any>;
    const seed = (salt: string) => createHash("sha256").update(`${this.stack}\0${args.type}\0${args.name}\0${salt}`).digest("hex");
    const computed = PROVIDER_OUTPUTS[args.type]?.(args, seed) ?? {};
    if (args.type === "random:index/randomPassword:RandomPassword") this.secrets.add(computed.result as string);
    if (args.type === "tls:index/privateKey:PrivateKey") this.secrets.add(computed.privateKeyPem as string);
    const options = this.options.get(`${args.type}::${args.name}`) ?? { deleteBeforeReplace: false, retainOnDelete: false, dependsOn: [] };
    this.resources.push({ type: args.type, name: args.name, inputs, outputs: computed, options });
    // A container's id changes with its inputs, as a real one does: the provider replaces a container for a
    // change of nearly any input (uploads included), which a label holding its id passes on (secrets carriers).
    const id = args.type === CONTAINER ? `${args.name}-${seed(JSON.stringify(inputs)).slice(0, 12)}` : `${args.name}-id`;
    return { id, state: { ...args.inputs, ...computed } };
  }

  /** A stack reference is a read of the other stack's outputs: answer with its render's. */
  private readStackReference(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const name = String(args.inputs.name ?? args.name);
    const referenced = this.stackOutputs.get(name);
    if (!referenced) throw new Error(`stack reference to '${name}', which the render did not prepare`);
    this.resources.push({
      type: args.type,
      name: args.name,
      inputs: { name },
      outputs: {},
      options: { deleteBeforeReplace: false, retainOnDelete: false, dependsOn: [] },
    });
    return { id: name, state: { name, ...referenced } };
  }

  /** A transformation that sees each resource's options before it is registered. */
  readonly observeOptions: pulumi.ResourceTransformation = (args) => {
    const opts = args.opts as pulumi.CustomResourceOptions;
    this.options.set(`${args.type}::${args.name}`, {
      deleteBeforeReplace: opts.deleteBeforeReplace === true,
      retainOnDelete: opts.retainOnDelete === true,
      dependsOn: resourceNames(opts.dependsOn),
    });
    return undefined;
  };

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    return args.inputs;
  }
}

/** Replace the SDK's secret wrappers by their values, remembering the secret strings. */
function unwrapSecrets(value: unknown, secrets: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => unwrapSecrets(v, secrets));
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) {
      // A secret list (e.g. envs with one secret entry) is marked as a whole: remember only scalars.
      if (typeof record.value === "string") secrets.add(record.value);
      return unwrapSecrets(record.value, secrets);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v, secrets)]));
  }
  return value;
}

/** Names of the resources a `dependsOn` option lists (given as an array, as the program does). */
function resourceNames(dependsOn: pulumi.CustomResourceOptions["dependsOn"]): string[] {
  const resources = Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : [];
  // The SDK keeps each resource's name as `__name` (internal, but stable across its versions).
  return resources.map((resource) => (resource as unknown as { __name: string }).__name).sort();
}
