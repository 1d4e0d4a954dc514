import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** One line of testssl.sh's JSON output. */
export interface TestsslFinding {
  id: string;
  severity: string;
  finding: string;
}

/** Run a command of the test machine (testssl.sh, openssl); never throws on a non-zero exit. */
export function run(command: string, args: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
      resolve({ exitCode: code, output: stdout + stderr });
    });
    // Nothing to say: openssl s_client ends once the handshake is done instead of waiting for input.
    child.stdin?.end();
  });
}

/**
 * Debian's testssl.sh against one port: protocols (-p) and the ciphers of each protocol (-E), as JSON
 * findings. `starttls` is testssl's protocol name (smtp, imap, ldap, ...) for a port that starts in clear.
 */
export async function testssl(host: string, port: number, starttls?: string): Promise<{ output: string; findings: TestsslFinding[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "testssl-"));
  const file = path.join(dir, `${port}.json`);
  try {
    const result = await run(
      "testssl",
      [
        "--quiet",
        "--color",
        "0",
        "--warnings",
        "off",
        "--fast",
        "-p",
        "-E",
        "--jsonfile",
        file,
        ...(starttls ? ["-t", starttls] : []),
        // testssl.sh 3.0 speaks LDAP's StartTLS only through openssl ("not supported yet" over its sockets).
        ...(starttls === "ldap" ? ["--ssl-native"] : []),
        `${host}:${port}`,
      ],
      300_000,
    );
    const findings = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as TestsslFinding[]) : [];
    return { output: result.output, findings };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The findings the TLS policy (platform/tls-policy.ts) claims to exclude: a protocol older than TLS 1.2
 * offered, any finding rated worse than OK, a TLS 1.2 (or older) cipher with CBC or a SHA-1 MAC.
 */
export function weakFindings(findings: TestsslFinding[]): TestsslFinding[] {
  return findings.filter(
    (f) =>
      (/^(SSLv2|SSLv3|TLS1|TLS1_1)$/.test(f.id) && !/not offered/.test(f.finding)) ||
      /^(LOW|MEDIUM|HIGH|CRITICAL)$/.test(f.severity) ||
      // IANA names of SHA-1 MAC suites end in _SHA.
      (/^cipher-tls1(_1|_2)?_x/.test(f.id) && /(_CBC_|_SHA\s*$)/.test(f.finding)),
  );
}

/** The TLS 1.2 ciphers testssl.sh found offered, by their IANA names (the last word of each finding). */
export function tls12Ciphers(findings: TestsslFinding[]): string[] {
  return findings
    .filter((f) => /^cipher-tls1_2_x/.test(f.id))
    .map((f) => f.finding.trim().split(/\s+/).pop()!)
    .sort();
}
