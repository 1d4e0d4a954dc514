import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { Recorder } from "../../../stacks/render";
import { runProgram } from "../../../stacks/program";

describe("the Pulumi program (pulumi up)", () => {
  it("stops on a config mistake with Pulumi's clean RunError (no stack trace) and registers nothing", async () => {
    const recorder = new Recorder("local");
    pulumi.runtime.setAllConfig({ "infra:domain": "Not A Domain", "infra:memoryBudgetMb": "1024", "infra:images": '{"build":true}' });
    await pulumi.runtime.setMocks(recorder, "infra", "local", false);
    let error: unknown;
    try {
      runProgram();
    } catch (e) {
      error = e;
    }
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("domain: expected a lower-case DNS name");
    expect(recorder.resources).toHaveLength(0);
  });
});
