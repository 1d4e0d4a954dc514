/**
 * Preflight for the test layers: every tool the tests run on this machine is checked for the capability
 * they use, before any scenario starts. A missing one stops the run with one line naming the Debian
 * package, instead of a dozen scenarios failing with confusing SMTP or exec errors.
 */
import { spawnSync } from "node:child_process";

export interface ToolCheck {
  /** What the tests need, in words. */
  need: string;
  /** The Debian package(s) that provide it. */
  debianPackage: string;
  /** Command and arguments to run; the check passes when it exits 0 and `expect` (if any) is in its output. */
  command: [string, ...string[]];
  expect?: RegExp;
}

/** Tools the unit layer runs (no Docker). */
export const UNIT_TOOLS: ToolCheck[] = [
  { need: "shellcheck (rendered scripts and images' shell)", debianPackage: "shellcheck", command: ["shellcheck", "--version"] },
  { need: "git (pipeline checks through gitlab-ci-local)", debianPackage: "git", command: ["git", "--version"] },
  { need: "openssl (test certificates)", debianPackage: "openssl", command: ["openssl", "version"] },
  // The TLS policy's GnuTLS priority string for slapd, listed by GnuTLS itself (tests/unit/foundation/tls-policy.test.ts).
  { need: "gnutls-cli (GnuTLS's cipher listing)", debianPackage: "gnutls-bin", command: ["gnutls-cli", "--version"] },
];

/** Tools the integration layer runs, beyond the Docker engine itself (tests/helpers/docker.ts). */
export const INTEGRATION_TOOLS: ToolCheck[] = [
  { need: "the Docker client", debianPackage: "docker.io", command: ["docker", "--version"] },
  // swaks speaks STARTTLS and SMTPS only with Net::SSLeay and IO::Socket::SSL, which are Recommends of
  // swaks: a `--no-install-recommends` install has no TLS and every AUTH scenario fails obscurely.
  {
    need: "swaks with TLS (STARTTLS, SMTPS)",
    debianPackage: "swaks libnet-ssleay-perl libio-socket-ssl-perl",
    command: ["swaks", "--support"],
    expect: /TLS supported/,
  },
  // The TLS scenarios of the mail server (tests/integration/mail): protocols and ciphers on each port.
  { need: "testssl.sh (TLS scanner)", debianPackage: "testssl.sh", command: ["sh", "-c", "command -v testssl"] },
  // The registry scenario (tests/integration/ci/registry.test.ts): registry v2 with htpasswd users.
  { need: "a container registry (registry v2)", debianPackage: "docker-registry", command: ["sh", "-c", "command -v docker-registry"] },
  { need: "htpasswd (bcrypt users of the test registry)", debianPackage: "apache2-utils", command: ["htpasswd", "-nbB", "u", "p"] },
  // The certificate scenarios (tests/integration/acme): Let's Encrypt's test server and its DNS stand-in.
  {
    need: "pebble and pebble-challtestsrv (test ACME server)",
    debianPackage: "pebble",
    command: ["sh", "-c", "command -v pebble && command -v pebble-challtestsrv"],
  },
  // The account page's browser scenario (tests/integration/account): Debian's Chromium driven by playwright-core.
  { need: "Chromium (the account page in a real browser)", debianPackage: "chromium", command: ["chromium", "--version"] },
  // The CI SSH set-up scenario (tests/integration/ci/ssh-setup.test.ts) and the hosts' login scenarios.
  {
    need: "the OpenSSH client tools (ssh-agent, ssh-add, ssh-keygen)",
    debianPackage: "openssh-client",
    command: ["sh", "-c", "command -v ssh-agent && command -v ssh-add && command -v ssh-keygen"],
  },
];

/** The tools that fail their check, each as one line naming the package to install. */
export function missingTools(tools: ToolCheck[]): string[] {
  return tools.flatMap((tool) => {
    const run = spawnSync(tool.command[0], tool.command.slice(1), { encoding: "utf8", timeout: 20_000 });
    const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
    const ok = !run.error && run.status === 0 && (!tool.expect || tool.expect.test(output));
    return ok ? [] : [`missing ${tool.need}: apt-get install ${tool.debianPackage}`];
  });
}

export function assertTools(tools: ToolCheck[]): void {
  const missing = missingTools(tools);
  if (missing.length > 0) throw new Error(`preflight: ${missing.join("; ")}`);
}
