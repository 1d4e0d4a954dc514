import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../../..");
const plan = (...args: string[]) =>
  spawnSync(process.execPath, ["-r", "sucrase/register/ts", "stacks/plan.ts", ...args], { cwd: ROOT, encoding: "utf8" });

describe("npm run plan", () => {
  it("prints the local stack by default, without Docker or the Pulumi CLI", () => {
    const result = plan();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Host local:");
  });

  it("prints JSON that scripts can parse", () => {
    const result = plan("--stack", "pica02", "--format", "json");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).stack).toBe("pica02");
  });

  it("prints the DNS records as a zone-file snippet", () => {
    const result = plan("--stack", "pica02", "--format", "zone");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^picasoft\.example\.org\.\t3600\tIN\tMX\t10 mail\.picasoft\.example\.org\.$/m);
    expect(result.stdout).toMatch(/^mail\._domainkey\.picasoft\.example\.org\.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=/m);
  });

  it("names the argument and the stacks that exist when the stack is unknown", () => {
    const result = plan("--stack", "pica99");
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("--stack: unknown stack 'pica99'; expected one of: local, pica01, pica02");
  });

  it("refuses an unknown format and lists the valid ones", () => {
    const result = plan("--format", "yaml");
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("Allowed choices are text, json, markdown, zone");
  });
});
