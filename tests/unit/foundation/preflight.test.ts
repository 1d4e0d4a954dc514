import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { INTEGRATION_TOOLS, missingTools } from "../../setup/preflight";

/** A stand-in command on PATH that prints `output` and exits with `code`. */
function fakeOnPath(name: string, output: string, code = 0): string {
  const dir = mkdtempSync(path.join(tmpdir(), "preflight-"));
  writeFileSync(path.join(dir, name), `#!/bin/sh\necho '${output}'\nexit ${code}\n`);
  chmodSync(path.join(dir, name), 0o755);
  return dir;
}

describe("test preflight", () => {
  const swaksCheck = INTEGRATION_TOOLS.filter((tool) => tool.command[0] === "swaks");

  it("names the Debian packages when swaks has no TLS (installed without its Recommends)", () => {
    const dir = fakeOnPath("swaks", "*** TLS not available: requires Net::SSLeay");
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      expect(missingTools(swaksCheck)).toEqual([
        "missing swaks with TLS (STARTTLS, SMTPS): apt-get install swaks libnet-ssleay-perl libio-socket-ssl-perl",
      ]);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("accepts swaks that reports TLS support", () => {
    const dir = fakeOnPath("swaks", "=== TLS supported");
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    try {
      expect(missingTools(swaksCheck)).toEqual([]);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("reports a tool that is not installed at all", () => {
    expect(missingTools([{ need: "a tool", debianPackage: "some-package", command: ["no-such-command-here"] }])).toEqual([
      "missing a tool: apt-get install some-package",
    ]);
  });
});
