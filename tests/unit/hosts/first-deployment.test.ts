import { beforeAll, describe, expect, it } from "vitest";
import { hostRenderInput, renderHostFiles } from "../../../hosts/render";
import { pinnedHostKeySshOptions } from "../../../hosts/settings";
import { readStackFile, renderStack, type RenderedStack } from "../../../stacks/render";
import { ConfigError } from "../../../stacks/schema";

/** What a first `pulumi up` of a brand-new remote host relies on (issue: from zero to two running hosts). */
describe.each(["pica01", "pica02"])("stack %s, a remote host", (stack) => {
  let rendered: RenderedStack;
  beforeAll(async () => {
    rendered = await renderStack(stack);
  });

  it("prepares the machine before the Docker provider connects to it", () => {
    const provider = rendered.resources.find((r) => r.type === "pulumi:providers:docker");
    expect(provider?.options.dependsOn).toEqual(["host-setup"]);
  });

  it("makes the Docker provider's ssh client trust the stack's host key and nothing else", () => {
    const provider = rendered.resources.find((r) => r.type === "pulumi:providers:docker");
    const hostKey = (readStackFile(stack)["infra:provisioning"] as { hostKey: string }).hostKey;
    expect(JSON.parse(provider?.inputs.sshOpts)).toEqual(pinnedHostKeySshOptions(hostKey));
    expect(pinnedHostKeySshOptions(hostKey)).toEqual(expect.arrayContaining(["StrictHostKeyChecking=yes", "UserKnownHostsFile=/dev/null"]));
  });

  it("gives the provisioning connection the same host key", () => {
    const hostKey = (readStackFile(stack)["infra:provisioning"] as { hostKey: string }).hostKey;
    const commands = rendered.resources.filter((r) => r.type.startsWith("command:remote:"));
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) expect(command.inputs.connection.hostKey, command.name).toBe(hostKey);
  });

  it("is refused at preview without the host's key, saying how to get it", async () => {
    const config = readStackFile(stack);
    const provisioning = { ...(config["infra:provisioning"] as Record<string, unknown>) };
    delete provisioning.hostKey;
    const error = await renderStack(stack, { ...config, "infra:provisioning": provisioning }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "provisioning.hostKey: required: the host's public SSH key, so that Pulumi talks to no other server (ssh-keyscan -t ed25519 HOST, without the host name)",
    ]);
  });

  it("puts the connection user in the docker group, so that the Docker provider may use the engine", () => {
    const files = renderHostFiles(hostRenderInput(rendered.config, rendered.config.provisioning!));
    expect(files.find((f) => f.name === "setup.sh")?.content).toMatch(/usermod -aG docker deploy/);
  });
});

it("local is not provisioned and its provider has no ssh options", async () => {
  const rendered = await renderStack("local");
  const provider = rendered.resources.find((r) => r.type === "pulumi:providers:docker");
  expect(provider?.inputs.sshOpts).toBeUndefined();
  expect(provider?.options.dependsOn).toEqual([]);
});
