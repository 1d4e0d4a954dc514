import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../../stacks/render";

// The analyzer protocol the Pulumi CLI speaks to a policy pack (generated code shipped with the SDK).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- generated CommonJS without type declarations for deep paths
const analyzerRpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- idem
const analyzerProto = require("@pulumi/pulumi/proto/analyzer_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports -- idem
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const REPO_ROOT = path.resolve(__dirname, "../../..");
const POLICY_DIR = path.join(REPO_ROOT, "policy");

/**
 * The policy pack run as `pulumi preview --policy-pack policy` runs it: the SDK's run-policy-pack from
 * the pack's own folder (where @pulumi/policy reads its package.json), TypeScript through ts-node, then
 * asked over gRPC to analyze resources as the engine would.
 */
describe("policy pack, run as the Pulumi CLI runs it", () => {
  let pack: ChildProcess;
  let client: { analyze(request: unknown, callback: (error: Error | null, response: any) => void): void; close(): void };
  let stderr = "";

  beforeAll(async () => {
    pack = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:0", "index.ts"], {
      cwd: POLICY_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    pack.stderr?.on("data", (chunk) => (stderr += chunk));
    const port = await new Promise<string>((resolve, reject) => {
      pack.stdout?.on("data", (chunk: Buffer) => {
        const line = chunk.toString().trim();
        if (/^\d+$/.test(line)) resolve(line);
      });
      pack.on("exit", (code) => reject(new Error(`the policy pack exited (${code}) before serving: ${stderr}`)));
    });
    client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(() => {
    client?.close();
    pack?.kill();
  });

  function analyze(type: string, name: string, props: Record<string, unknown>): Promise<{ policy: string; message: string }[]> {
    const request = new analyzerProto.AnalyzeRequest();
    request.setType(type);
    request.setName(name);
    request.setUrn(`urn:pulumi:test::infra::${type}::${name}`);
    request.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(props))));
    // The engine always sends the resource's options (the pack refuses requests without them).
    request.setOptions(new analyzerProto.AnalyzerResourceOptions());
    return new Promise((resolve, reject) =>
      client.analyze(request, (error, response) =>
        error
          ? reject(error)
          : resolve(response.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage() }))),
      ),
    );
  }

  it("starts from its folder and reports nothing on a container of the stacks", async () => {
    const rendered = await renderStack("local");
    const proxy = rendered.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "proxy");
    expect(await analyze("docker:index/container:Container", "proxy", proxy!.inputs)).toEqual([]);
  });

  it("reports the violations of a privileged container without a memory limit", async () => {
    const rendered = await renderStack("local");
    const proxy = rendered.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "proxy");
    const bad = { ...proxy!.inputs, privileged: true, memory: undefined };
    const violations = await analyze("docker:index/container:Container", "bad", bad);
    expect(violations.map((v) => v.policy).sort()).toEqual(["memory-limit", "no-privileged"]);
    expect(violations.map((v) => v.message).join("\n")).toMatch(/runs privileged/);
  });
});
