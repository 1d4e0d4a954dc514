import { describe, expect, it } from "vitest";
import { CANONICAL_CONTAINER_FIELDS, durationSeconds, goDuration } from "../../../platform/provider-forms";
import { listStacks, renderStack } from "../../../stacks/render";

const CONTAINER = "docker:index/container:Container";

function valueAt(inputs: Record<string, any>, path: string): unknown {
  return path.split(".").reduce<any>((value, key) => value?.[key], inputs);
}

describe.each([
  [5, "5s"],
  [30, "30s"],
  [60, "1m0s"],
  [90, "1m30s"],
  [120, "2m0s"],
  [300, "5m0s"],
  [3600, "1h0m0s"],
  [3723, "1h2m3s"],
])("goDuration(%i)", (seconds, printed) => {
  it(`prints ${printed}, as Go does, and reads back`, () => {
    expect(goDuration(seconds)).toBe(printed);
    expect(durationSeconds(printed)).toBe(seconds);
  });
});

describe.each(listStacks())("stack %s: values the Docker provider reads back", (stack) => {
  it("are written in the provider's canonical form (no perpetual diff, no failing drift check)", async () => {
    const rendered = await renderStack(stack);
    const wrong = rendered.resources
      .filter((r) => r.type === CONTAINER)
      .flatMap((r) =>
        CANONICAL_CONTAINER_FIELDS
          // A secrets carrier, never started, sets no healthcheck: the provider reads its image's back into a Computed block.
          .filter((field) => !(r.inputs.start === false && r.inputs.healthcheck === undefined && field.path.startsWith("healthcheck.")))
          .filter((field) => !field.isCanonical(valueAt(r.inputs, field.path)))
          .map((field) => `${r.name}.${field.path} = ${JSON.stringify(valueAt(r.inputs, field.path))}: expected ${field.form}`),
      );
    expect(wrong).toEqual([]);
  });

  it("make `pulumi up` wait for every long-running container to be healthy, past its start period", async () => {
    const rendered = await renderStack(stack);
    for (const r of rendered.resources.filter((r) => r.type === CONTAINER)) {
      if (r.inputs.restart === "no") {
        expect(r.inputs.wait, r.name).toBe(false);
        continue;
      }
      expect(r.inputs.wait, r.name).toBe(true);
      expect(r.inputs.waitTimeout, r.name).toBeGreaterThan(durationSeconds(r.inputs.healthcheck.startPeriod)!);
    }
  });
});
