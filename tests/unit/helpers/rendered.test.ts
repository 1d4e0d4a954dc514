import { describe, expect, it } from "vitest";
import { readStackFile, type RenderedStack } from "../../../stacks/render";
import { containerOf, stackVariant } from "../../helpers/rendered";

/** The shared helpers over rendered stacks: a wrong lookup or a leaking variant would make other tests lie. */
describe("rendered-stack test helpers", () => {
  const rendered = {
    stack: "example",
    containers: ["proxy", "nextcloud-asso", "nextcloud-asso-occ-0123456789", "nextcloud-transition-occ-abcdef0123"].map((name) => ({
      name,
    })),
  } as unknown as RenderedStack;

  it("containerOf finds a container by its name, or the one whose name matches a pattern", () => {
    expect(containerOf(rendered, "nextcloud-asso").name).toBe("nextcloud-asso");
    expect(containerOf(rendered, /^nextcloud-asso-occ-/).name).toBe("nextcloud-asso-occ-0123456789");
  });

  it("containerOf names the stack's containers when there is no such container", () => {
    expect(() => containerOf(rendered, "mattermost")).toThrow(
      "stack example has no container 'mattermost'; it has: proxy, nextcloud-asso, nextcloud-asso-occ-0123456789, nextcloud-transition-occ-abcdef0123",
    );
  });

  it("containerOf refuses a pattern that matches several containers", () => {
    expect(() => containerOf(rendered, /-occ-/)).toThrow(
      "stack example has several containers matching /-occ-/: nextcloud-asso-occ-0123456789, nextcloud-transition-occ-abcdef0123",
    );
  });

  it("stackVariant changes a copy of the stack file, never the file's config or another variant", () => {
    const original = JSON.stringify(readStackFile("pica01"));
    const variant = stackVariant("pica01", (c) => {
      c["infra:partners"].push({ id: "other" });
      delete c["infra:services"].collabora;
    });
    expect(variant["infra:services"].collabora).toBeUndefined();
    expect(JSON.stringify(readStackFile("pica01"))).toBe(original);
    expect(stackVariant("pica01")).toEqual(JSON.parse(original));
  });
});
