import { readStackFile, renderStack, type RenderedResource, type RenderedStack } from "../../../stacks/render";

/** A stack file's config map with one change (tests render variants of the real stack files). */
export function stackWith(stack: string, change: (config: Record<string, any>) => void): Record<string, any> {
  const config = structuredClone(readStackFile(stack)) as Record<string, any>;
  change(config);
  return config;
}

export function renderVariant(stack: string, change: (config: Record<string, any>) => void): Promise<RenderedStack> {
  return renderStack(stack, stackWith(stack, change));
}

export const ANOTHER_PARTNER = {
  id: "ressourcerie",
  name: "La Ressourcerie",
  domain: "cloud.ressourcerie.example.org",
  adminEmail: "admin@ressourcerie.example.org",
  defaultQuota: "2 GB",
};

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
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sort((value as Record<string, unknown>)[k])]))
        : value;
  return JSON.stringify(sort(resource.inputs));
}

export const CONTAINER = "docker:index/container:Container";
