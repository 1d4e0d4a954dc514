import { describe, expect, it } from "vitest";
import { EXAMPLE_SECRET_PREFIX, secretsReport } from "../../../stacks/secrets";
import { readStackFile } from "../../../stacks/render";

const example = { secure: `${EXAMPLE_SECRET_PREFIX}eA==` };
const real = { secure: "v1:c2FsdA==:Y2lwaGVy" };

describe("npm run secrets: what a stack still needs before its first pulumi up", () => {
  it("lists pica02's secrets, each still the example value the repository ships", () => {
    const report = secretsReport(readStackFile("pica02"));
    expect(report.secrets.map((s) => s.path)).toEqual(expect.arrayContaining(["images.registryAuth.password"]));
    expect(report.secrets.every((s) => s.state === "example")).toBe(true);
    expect(report.problems).toEqual([]);
  });

  it("says which of pica01's settings come from pica02's stack (nothing to set)", () => {
    const report = secretsReport(readStackFile("pica01"));
    expect(report.fromOtherStacks).toEqual([
      { path: "services.mattermost.smtp.password", stack: "organization/infra/pica02" },
      { path: "services.nextcloud.smtp.password", stack: "organization/infra/pica02" },
      { path: "provisioning.bindPassword", stack: "organization/infra/pica02" },
    ]);
  });

  it("tells a secret set for real from the example value", () => {
    const config = structuredClone(readStackFile("pica01")) as any;
    const registry = () => secretsReport(config).secrets.filter((s) => s.path.startsWith("images."));
    config["infra:images"].registryAuth.password = real;
    expect(registry()).toEqual([{ path: "images.registryAuth.password", state: "set" }]);
    config["infra:images"].registryAuth.password = example;
    expect(registry()).toEqual([{ path: "images.registryAuth.password", state: "example" }]);
  });

  it("reports a missing secret with its key path among the stack's problems", () => {
    const config = structuredClone(readStackFile("pica01")) as any;
    delete config["infra:directoryStack"];
    expect(secretsReport(config).problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^provisioning\.bindPassword: required: the hosts account's password/)]),
    );
  });
});
