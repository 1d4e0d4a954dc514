import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const REPO_ROOT = path.resolve(__dirname, "../../..");

/** The modules a fresh Node process has loaded after requiring `module` (through the plan's require hook). */
function modulesLoadedBy(module: string): string[] {
  const script = `require(${JSON.stringify(module)}); console.log(JSON.stringify(Object.keys(require.cache)));`;
  const output = execFileSync(process.execPath, ["-r", "sucrase/register/ts", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
  return (JSON.parse(output) as string[]).map((file) => path.relative(REPO_ROOT, file));
}

describe("layers", () => {
  it("validates a stack file without loading any component or the Docker provider", () => {
    const loaded = modulesLoadedBy("./stacks/schema.ts");
    expect(loaded.filter((file) => file.includes("@pulumi/docker"))).toEqual([]);
    expect(loaded.filter((file) => /(^|\/)component\.ts$/.test(file))).toEqual([]);
    // It does read every service's settings.
    expect(loaded).toEqual(expect.arrayContaining(["ldap/settings.ts", "mail/settings.ts", "services/nextcloud/settings.ts"]));
  });
});
