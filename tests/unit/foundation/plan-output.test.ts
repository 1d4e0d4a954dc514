import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { withPartners } from "../../../bench/partners";
import { formatJson, toPlan } from "../../../stacks/plan-format";
import { renderStack } from "../../../stacks/render";

const REPO_ROOT = path.resolve(__dirname, "../../..");

describe("the plan as the association grows", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a 40-partner JSON plan whole through a pipe (over 64 KiB), as it does to a file", () => {
    const file = path.join(dir, "Pulumi.pica01.yaml");
    writeFileSync(file, stringify({ config: withPartners(40) }));
    const plan = `node -r sucrase/register/ts stacks/plan.ts --stack pica01 --file ${file} --format json`;
    // The reader takes its time, so the plan's writes find a full pipe: what cut it at 64 KiB before.
    const piped = execFileSync("sh", ["-c", `${plan} | (sleep 1; cat)`], { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    const redirected = path.join(dir, "plan.json");
    execFileSync("sh", ["-c", `${plan} > ${redirected}`], { cwd: REPO_ROOT });
    expect(piped.length).toBeGreaterThan(65_536);
    // + the backup, the monitoring agent (node, containers' health, the PostgreSQL and Redis exporters)
    expect(JSON.parse(piped).containers).toHaveLength(4 + 40 * 5 + 5 + 1 + 4);
    expect(piped).toBe(execFileSync("cat", [redirected], { encoding: "utf8", maxBuffer: 64 << 20 }));
  }, 120_000);

  it("renders the same JSON plan with the SDK's debugging aids off (the fast render) as with Pulumi's defaults", async () => {
    const config = withPartners(10);
    const fast = formatJson(toPlan(await renderStack("pica01", config)));
    const defaults = formatJson(toPlan(await renderStack("pica01", config, undefined, { stackTraces: true })));
    expect(fast).toBe(defaults);
  }, 60_000);

  it("gives the SDK its debugging aids back after a render (stack traces, source positions, promise leak checks)", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an SDK internal, absent from its type declarations
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: unknown };
    const resource = pulumi.Resource as unknown as { callsites: unknown };
    const before = [Error.stackTraceLimit, debuggable.debuggablePromise, resource.callsites];
    await renderStack("local");
    expect([Error.stackTraceLimit, debuggable.debuggablePromise, resource.callsites]).toEqual(before);
  });
});
