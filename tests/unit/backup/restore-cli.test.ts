import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../../..");
const restore = (...args: string[]) =>
  spawnSync(process.execPath, ["-r", "sucrase/register/ts", "stacks/restore.ts", ...args], { cwd: ROOT, encoding: "utf8" });

describe("npm run restore", () => {
  it("refuses to run without a stack, printing its usage", () => {
    const result = restore();
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe("usage: npm run restore -- --stack <host> [--snapshot <id>] [--service <name>]");
  });

  it("refuses a service with no backed-up data before touching the host, naming those that have some", () => {
    const result = restore("--stack", "pica02", "--service", "mattermost");
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe("--service mattermost: no data of that service is backed up on pica02; it has: ldap, mail");
  });
});
