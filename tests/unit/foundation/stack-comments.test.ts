import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderStack, STACKS_DIR } from "../../../stacks/render";

/**
 * The production stack files say, above each service, which containers it brings (`# Brings: a, b (why), c.`),
 * so that a reader of the file sees what `npm run plan` shows. This keeps those comments true.
 */
const PRODUCTION_STACKS = ["pica01", "pica02"];

/** `{ service: [container names] }` from the `# Brings:` comment above each `infra:services` entry. */
function broughtByComments(stack: string): Record<string, string[]> {
  const lines = readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8").split("\n");
  const start = lines.indexOf("  infra:services:");
  const brought: Record<string, string[]> = {};
  for (let i = start + 1; i < lines.length && /^(    |\s*$)/.test(lines[i]); i++) {
    const service = /^ {4}([a-z]+):/.exec(lines[i])?.[1];
    if (!service) continue;
    const comments: string[] = [];
    for (let j = i - 1; j > start && /^ {4}#/.test(lines[j]); j--) comments.unshift(lines[j].replace(/^ {4}#\s?/, ""));
    const text = comments.join(" ");
    const from = text.indexOf("Brings");
    if (from < 0) continue;
    brought[service] = text
      .slice(text.indexOf(":", from) + 1)
      .replace(/\([^)]*\)/g, "")
      .split(",")
      .map((name) => name.replace(/\.\s*$/, "").trim())
      .filter(Boolean);
  }
  return brought;
}

describe("the stack files' comments", () => {
  it.each(PRODUCTION_STACKS)("%s says above every service which containers it brings, as the plan shows them", async (stack) => {
    const rendered = await renderStack(stack);
    const tenants = ["asso", ...(rendered.config.partners ?? []).map((partner) => partner.id)];
    const generic = (name: string) =>
      tenants
        .reduce((result, id) => result.replace(new RegExp(`^nextcloud-${id}(?=-|$)`), "nextcloud-<tenant>"), name)
        .replace(/-occ-[0-9a-f]+$/, "-occ-<hash>");
    const planned: Record<string, string[]> = {};
    for (const container of rendered.containers)
      planned[container.service] = [...new Set([...(planned[container.service] ?? []), generic(container.name)])];
    const said = broughtByComments(stack);
    for (const names of Object.values(planned)) names.sort();
    for (const names of Object.values(said)) names.sort();
    expect(said).toEqual(planned);
  });
});
