import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../stacks/schema";
import { readStackFile, renderStack } from "../../../stacks/render";

describe.each(["pica01", "pica02"])("stack %s: pulls of our images from the private registry", (stack) => {
  it("authenticate the host's Docker engine with the deploy token, kept secret", async () => {
    const rendered = await renderStack(stack);
    const provider = rendered.resources.find((r) => r.type === "pulumi:providers:docker");
    // Provider settings reach the engine as JSON text.
    const registryAuth = JSON.parse(provider?.inputs.registryAuth);
    expect(registryAuth).toEqual([
      { address: "registry.gitlab.example.org", username: "gitlab+deploy-token-1", password: expect.any(String) },
    ]);
    expect(rendered.secrets).toContain(registryAuth[0].password);
  });

  it("are refused at preview without a deploy token, naming the key", async () => {
    const config = readStackFile(stack);
    const images = { ...(config["infra:images"] as Record<string, unknown>) };
    delete images.registryAuth;
    const error = await renderStack(stack, { ...config, "infra:images": images }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "images: expected { build: true } or { registry: ..., registryAuth: { username, password }, pins: { <image>: <tag>@sha256:<digest> } }",
    ]);
  });
});

it("local builds its images on the host and logs in nowhere", async () => {
  const rendered = await renderStack("local");
  const provider = rendered.resources.find((r) => r.type === "pulumi:providers:docker");
  expect(provider?.inputs.registryAuth).toBeUndefined();
});
