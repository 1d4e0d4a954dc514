import {
  readStackFile,
  renderStack,
  type Recorder,
  type RenderedContainer,
  type RenderedResource,
  type RenderedStack,
} from "../../stacks/render";

/**
 * What the tests share about rendered stacks (stacks/render.ts): finding a container, rendering a stack
 * file with a change, and what changed between two renders.
 */

/**
 * The container of a rendered stack named `name`, or, given a pattern, the one whose name matches it
 * (jobs carry a hash: /^nextcloud-asso-occ-/). Throws, listing the stack's containers, when there is none
 * or when a pattern matches several.
 */
export function containerOf(rendered: RenderedStack, name: string | RegExp): RenderedContainer {
  const found = rendered.containers.filter((c) => (typeof name === "string" ? c.name === name : name.test(c.name)));
  if (found.length === 1) return found[0];
  const names = (list: RenderedContainer[]) => list.map((c) => c.name).join(", ");
  if (found.length > 1) throw new Error(`stack ${rendered.stack} has several containers matching ${name}: ${names(found)}`);
  throw new Error(`stack ${rendered.stack} has no container '${name}'; it has: ${names(rendered.containers)}`);
}

/**
 * The files a container reads its secrets from (/run/secrets/<VAR>): uploaded into the container itself, or,
 * for a read-only one, into its carrier (platform/container.ts `secretsCarrier`), which writes them to the
 * volume the container mounts.
 */
export function secretFilesOf(rendered: RenderedStack, container: RenderedContainer): RenderedContainer["files"] {
  const carrier = rendered.carriers.find((c) => c.secretsFor === container.name);
  return (carrier ?? container).files.filter((f) => f.path.startsWith("/run/secrets/"));
}

/**
 * A stack file's `config:` map (keys `infra:...`) as a test edits it: untyped JSON, since tests also write
 * the mistakes a volunteer could make.
 */
export type StackFileConfig = Record<string, any>;

/**
 * The config map of stacks/Pulumi.<stack>.yaml, deep-copied, with `change` applied to the copy: a variant
 * of a real stack file (a partner added, a service removed, a setting broken). The file is not touched.
 */
export function stackVariant(stack: string, change: (config: StackFileConfig) => void = () => undefined): StackFileConfig {
  const config = structuredClone(readStackFile(stack)) as StackFileConfig;
  change(config);
  return config;
}

/** Render a variant of a stack file (see stackVariant); a recorder sees what was registered if it fails. */
export function renderVariant(stack: string, change: (config: StackFileConfig) => void, recorder?: Recorder): Promise<RenderedStack> {
  return renderStack(stack, stackVariant(stack, change), recorder);
}

/** Resources of two renders, matched by type and name: what appeared, disappeared, or has other inputs. */
export function diffResources(before: RenderedStack, after: RenderedStack) {
  const index = (stack: RenderedStack) => new Map(stack.resources.map((r) => [`${r.type}::${r.name}`, r]));
  const a = index(before);
  const b = index(after);
  const added = [...b.keys()].filter((key) => !a.has(key)).sort();
  const removed = [...a.keys()].filter((key) => !b.has(key)).sort();
  const changed = [...a.keys()]
    .filter((key) => b.has(key) && stableJson(a.get(key) as RenderedResource) !== stableJson(b.get(key) as RenderedResource))
    .sort();
  return { added, removed, changed };
}

/** Inputs as sorted JSON, so that key order never counts as a change. */
function stableJson(resource: RenderedResource): string {
  const sort = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sort)
      : value && typeof value === "object"
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, sort((value as Record<string, unknown>)[k])]),
          )
        : value;
  return JSON.stringify(sort(resource.inputs));
}
