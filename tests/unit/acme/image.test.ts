import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ACME_IMAGE } from "../../../platform/acme-certificate";
import { assertTools } from "../../setup/preflight";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const IMAGE = path.join(REPO_ROOT, ACME_IMAGE.context);
const SCRIPT = path.join(IMAGE, "acme-certificate");
const dockerfile = fs.readFileSync(path.join(IMAGE, "Dockerfile"), "utf8");

describe("acme image files", () => {
  it("builds FROM the BASE_IMAGE argument with Debian's lego, one lean apt layer, no secret baked in", () => {
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=debian:bookworm-slim\nFROM \$\{BASE_IMAGE\}$/m);
    const installs = dockerfile.match(/apt-get install[^\n]*/g) ?? [];
    expect(installs).toHaveLength(1);
    expect(installs[0]).toContain("--no-install-recommends lego ca-certificates openssl");
    expect(dockerfile.match(/rm -rf \/var\/lib\/apt\/lists\/\*/g)).toHaveLength(1);
    const instructions = dockerfile
      .split("\n")
      .filter((line) => !line.trim().startsWith("#"))
      .join("\n");
    expect(instructions).not.toMatch(/PASSWORD|PRIVATE KEY|ARG .*(SECRET|TOKEN)|OVH_/i);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/acme-certificate"\]$/m);
  });

  it("ships an executable script that stops on errors and passes shellcheck", () => {
    expect(fs.readFileSync(SCRIPT, "utf8")).toMatch(/^#!\/bin\/sh\n(#[^\n]*\n)*set -eu$/m);
    expect(fs.statSync(SCRIPT).mode & 0o111).toBe(0o111);
    expect(() => execFileSync("shellcheck", [SCRIPT], { stdio: "pipe" })).not.toThrow();
  });
});

/**
 * The script's loop against a stand-in `lego` (first on PATH) that records its arguments and, like lego,
 * writes `certificates/<domain>.crt` and `.key` on `run`, and on `renew` only when the certificate is due
 * (here: when --days is at least 1000). The certificates are real (openssl), the files are real.
 */
const FAKE_LEGO = `#!/bin/sh
set -eu
echo "$*" >>"$LEGO_CALLS"
path=""; domain=""; days=0; command=""
while [ $# -gt 0 ]; do
  case $1 in
    --path) path=$2; shift ;;
    --domains) [ -n "$domain" ] || domain=$2; shift ;;
    --days) days=$2; shift ;;
    run | renew) command=$1 ;;
  esac
  shift
done
if [ "$command" = renew ] && [ "$days" -lt 1000 ]; then
  echo "no renewal"
  exit 0
fi
mkdir -p "$path/certificates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 -subj "/CN=$domain" \\
  -keyout "$path/certificates/$domain.key" -out "$path/certificates/$domain.crt" 2>/dev/null
`;

describe("acme-certificate (the container's loop)", () => {
  let dir: string;
  let loop: ChildProcess | undefined;
  let output = "";
  const file = (name: string) => path.join(dir, name);
  const calls = () => (fs.existsSync(file("calls")) ? fs.readFileSync(file("calls"), "utf8").trim().split("\n") : []);
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    PATH: `${file("bin")}:${process.env.PATH}`,
    LEGO_CALLS: file("calls"),
    ACME_STATE_DIR: file("state"),
    TLS_DIR: file("tls"),
    TLS_OWNER: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
    ACME_DOMAINS: "ldap.asso.example.org",
    ACME_EMAIL: "tech@asso.example.org",
    ACME_SERVER: "https://acme.example.org/directory",
    ACME_DNS_PROVIDER: "httpreq",
    ACME_DNS_RESOLVERS: "192.0.2.53:53",
    ACME_DNS_COMPLETE_PROPAGATION: "false",
    ACME_CHECK_SECONDS: "1",
    ...extra,
  });
  const start = (extra?: Record<string, string>) => {
    output = "";
    loop = spawn("sh", [SCRIPT], { env: env(extra), stdio: ["ignore", "pipe", "pipe"] });
    loop.stdout?.on("data", (chunk) => (output += chunk));
    loop.stderr?.on("data", (chunk) => (output += chunk));
  };
  const stop = async () => {
    if (!loop || loop.exitCode !== null) return;
    const exited = new Promise((resolve) => loop?.once("exit", resolve));
    loop.kill("SIGTERM");
    await exited;
  };
  const until = async (what: string, condition: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output}\ncalls:\n${calls().join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const installed = () => (fs.existsSync(file("tls/tls.crt")) ? fs.readFileSync(file("tls/tls.crt"), "utf8") : "");

  beforeAll(() => {
    // The script reads certificates with openssl, and the stand-in lego makes them with it.
    assertTools([{ need: "openssl (the acme-certificate script's checks)", debianPackage: "openssl", command: ["openssl", "version"] }]);
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acme-certificate-"));
    for (const sub of ["bin", "state", "tls"]) fs.mkdirSync(file(sub));
    fs.writeFileSync(file("bin/lego"), FAKE_LEGO, { mode: 0o755 });
  });
  afterEach(async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("obtains a certificate when the state has none, then installs it: key 0600 first, full chain 0644", async () => {
    start();
    await until("the certificate", () => /installed in /.test(output));
    expect(calls()[0]).toBe(
      "--accept-tos --path " +
        file("state") +
        " --server https://acme.example.org/directory --email tech@asso.example.org --key-type ec256 --dns httpreq" +
        " --domains ldap.asso.example.org --dns.resolvers 192.0.2.53:53 --dns.disable-cp run",
    );
    expect(installed()).toBe(fs.readFileSync(file("state/certificates/ldap.asso.example.org.crt"), "utf8"));
    expect(fs.readFileSync(file("tls/tls.key"), "utf8")).toBe(
      fs.readFileSync(file("state/certificates/ldap.asso.example.org.key"), "utf8"),
    );
    expect(fs.statSync(file("tls/tls.key")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(file("tls/tls.crt")).mode & 0o777).toBe(0o644);
    expect(output).toMatch(/installed in .* serial=/);
    expect(execFileSync("sh", [SCRIPT, "check"], { env: env() }).toString()).toBe("");
  });

  it("checks again after the interval with `renew --days 30`, and leaves the installed files alone when nothing was renewed", async () => {
    start();
    await until("the certificate", () => installed() !== "");
    const inode = fs.statSync(file("tls/tls.crt")).ino;
    await until("two renewal checks", () => calls().filter((call) => call.endsWith("renew --days 30")).length >= 2);
    expect(fs.statSync(file("tls/tls.crt")).ino).toBe(inode);
  });

  it("renews at once on USR1, whatever the expiry, and installs the new certificate", async () => {
    start({ ACME_CHECK_SECONDS: "3600" });
    await until("the certificate", () => installed() !== "");
    const first = installed();
    loop?.kill("SIGUSR1");
    await until("a new certificate", () => installed() !== first && installed() !== "");
    expect(calls().at(-1)).toMatch(/ renew --days 36500 --no-random-sleep$/);
    expect(output).toContain("renewing now (USR1)");
  });

  it("orders a new certificate when the ACME server changes, and only reinstalls what is missing at a restart", async () => {
    start();
    await until("the certificate", () => installed() !== "");
    await stop();
    fs.rmSync(file("tls/tls.crt"));
    start();
    await until("the certificate again", () => installed() !== "");
    expect(calls().filter((call) => call.endsWith(" run"))).toHaveLength(1);
    await stop();
    start({ ACME_SERVER: "https://acme-staging.example.org/directory" });
    await until("an order at the new server", () => calls().filter((call) => call.endsWith(" run")).length === 2);
  });

  it("is unhealthy without a certificate, or with one that expires within a week", () => {
    expect(() => execFileSync("sh", [SCRIPT, "check"], { env: env(), stdio: "pipe" })).toThrow();
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "3",
        "-subj",
        "/CN=x",
        "-keyout",
        file("tls/tls.key"),
        "-out",
        file("tls/tls.crt"),
      ],
      { stdio: "pipe" },
    );
    expect(() => execFileSync("sh", [SCRIPT, "check"], { env: env(), stdio: "pipe" })).toThrow();
  });

  it("refuses an owner that is not uid:gid", () => {
    expect(() => execFileSync("sh", [SCRIPT], { env: env({ TLS_OWNER: "openldap" }), stdio: "pipe" })).toThrow(
      /TLS_OWNER: expected uid:gid in numbers/,
    );
  });
});
