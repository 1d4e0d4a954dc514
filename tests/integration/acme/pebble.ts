/**
 * A test ACME server for the certificate scenarios, on this machine: Debian's `pebble` (Let's Encrypt's
 * test server) validating DNS-01 against `pebble-challtestsrv` (its mock DNS server, same package), and a
 * small registrar hook that lego's generic `httpreq` provider calls (POST /present and /cleanup with
 * `{fqdn, value}`), translated to challtestsrv's management API (/set-txt, /clear-txt). The hook asks
 * for HTTP basic auth, so the scenarios also prove that the stack's secret credentials reach lego.
 *
 * The containers reach all three at an address of this machine that Docker bridges route to (docker0's
 * by default); pebble's own HTTPS certificate is signed by a CA made here, which the stack passes to
 * lego (infra:acme.serverCa). Test-only: nothing here is part of a stack.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer as createHttpServer, type Server } from "node:http";
import { get as httpsGet } from "node:https";
import { createServer } from "node:net";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ToolCheck } from "../../setup/preflight";

/** What the certificate scenarios run on this machine, beyond Docker: one line names the package when missing. */
export const ACME_TOOLS: ToolCheck[] = [
  { need: "pebble, a test ACME server (certificate scenarios)", debianPackage: "pebble", command: ["pebble", "-h"] },
  {
    need: "pebble-challtestsrv, the DNS server pebble validates DNS-01 against",
    debianPackage: "pebble",
    command: ["pebble-challtestsrv", "-h"],
  },
  {
    need: "openssl s_client with STARTTLS (reads the served certificates)",
    debianPackage: "openssl",
    command: ["openssl", "s_client", "-help"],
    expect: /-starttls/,
  },
];

export interface Pebble {
  /** ACME directory URL, as the containers reach it. */
  server: string;
  /** PEM of the CA that signed pebble's HTTPS certificate (what lego must trust). */
  serverCa: string;
  /** challtestsrv's DNS, host:port, as the containers reach it. */
  dns: string;
  /** The registrar hook for lego's httpreq provider, and the user it expects. */
  hook: string;
  hookUser: string;
  /** The password the hook accepts: the one the rendered stack gives lego. */
  acceptPassword(password: string): void;
  /** `_acme-challenge.` names the hook was asked to present (fqdn with the final dot), in order. */
  presented: string[];
  /** Requests the hook refused (wrong or missing credentials). */
  refused: number;
  /** PEM of the root that issues the certificates (pebble makes a new one at each start). */
  issuingRoot(): Promise<string>;
  stop(): Promise<void>;
}

/** An IPv4 address of this machine that containers on a Docker bridge network can reach. */
export function hostAddress(): string {
  const interfaces = os.networkInterfaces();
  const ipv4 = (name: string) => (interfaces[name] ?? []).find((a) => a.family === "IPv4" && !a.internal)?.address;
  const address =
    ipv4("docker0") ??
    Object.keys(interfaces)
      .filter((name) => !name.startsWith("br-") && !name.startsWith("veth"))
      .map(ipv4)
      .find((a) => a !== undefined);
  if (!address) throw new Error("no IPv4 address on this machine for the containers to reach pebble at");
  return address;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** A CA, and pebble's HTTPS certificate for `address` signed by it, in `dir`. */
function makeServerCertificate(dir: string, address: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-days", "2", "-subj", "/CN=pebble test CA", "-keyout", file("ca.key"), "-out", file("ca.crt"));
  openssl("req", ...ec, "-subj", "/CN=pebble", "-keyout", file("pebble.key"), "-out", file("pebble.csr"));
  fs.writeFileSync(file("pebble.ext"), `subjectAltName=IP:${address},IP:127.0.0.1,DNS:localhost\n`);
  openssl(
    "x509",
    "-req",
    "-in",
    file("pebble.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file("pebble.ext"),
    "-out",
    file("pebble.crt"),
  );
  return { ca: fs.readFileSync(file("ca.crt"), "utf8"), cert: file("pebble.crt"), key: file("pebble.key") };
}

function httpsText(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca, timeout: 5_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.on("timeout", () => request.destroy(new Error(`timeout: ${url}`)));
  });
}

async function postJson(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return response.status;
}

export async function startPebble(): Promise<Pebble> {
  const address = hostAddress();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pebble-"));
  const ports = {
    acme: await freePort(address),
    management: await freePort("127.0.0.1"),
    dns: await freePort(address),
    challtestsrv: await freePort("127.0.0.1"),
    hook: await freePort(address),
  };
  const tls = makeServerCertificate(dir, address);
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `${address}:${ports.acme}`,
        managementListenAddress: `127.0.0.1:${ports.management}`,
        certificate: tls.cert,
        privateKey: tls.key,
        // HTTP-01 and TLS-ALPN-01 are never used here (DNS-01 only); pebble requires the ports anyway.
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );

  const processes: ChildProcess[] = [];
  let log = "";
  const run = (command: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk) => (log += chunk));
    child.stderr?.on("data", (chunk) => (log += chunk));
    processes.push(child);
    return child;
  };
  run("pebble-challtestsrv", [
    "-dns01",
    `${address}:${ports.dns}`,
    "-management",
    `127.0.0.1:${ports.challtestsrv}`,
    "-http01",
    "",
    "-https01",
    "",
    "-tlsalpn01",
    "",
    "-defaultIPv4",
    "127.0.0.1",
    "-defaultIPv6",
    "",
  ]);
  // No random sleeps before validating, no nonces refused on purpose: the scenarios stay short and exact.
  run("pebble", ["-config", path.join(dir, "pebble.json"), "-dnsserver", `${address}:${ports.dns}`], {
    PEBBLE_VA_NOSLEEP: "1",
    PEBBLE_WFE_NONCEREJECT: "0",
  });

  const hookUser = "lego";
  let password: string | undefined;
  const presented: string[] = [];
  const pebble: Pebble = {
    server: `https://${address}:${ports.acme}/dir`,
    serverCa: tls.ca,
    dns: `${address}:${ports.dns}`,
    hook: `http://${address}:${ports.hook}`,
    hookUser,
    acceptPassword: (value) => (password = value),
    presented,
    refused: 0,
    async issuingRoot() {
      const { status, body } = await httpsText(`https://127.0.0.1:${ports.management}/roots/0`, tls.ca);
      if (status !== 200) throw new Error(`pebble's root: HTTP ${status}`);
      return body;
    },
    async stop() {
      await new Promise((resolve) => hook.close(resolve));
      for (const child of processes) if (child.exitCode === null) child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  const hook: Server = createHttpServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const expected = `Basic ${Buffer.from(`${hookUser}:${password}`).toString("base64")}`;
      if (password === undefined || request.headers.authorization !== expected) {
        pebble.refused += 1;
        response.writeHead(401).end();
        return;
      }
      const { fqdn, value } = JSON.parse(body || "{}") as { fqdn?: string; value?: string };
      const action = request.url === "/present" ? "set-txt" : request.url === "/cleanup" ? "clear-txt" : undefined;
      if (!action || !fqdn) {
        response.writeHead(404).end();
        return;
      }
      if (action === "set-txt") presented.push(fqdn);
      postJson(`http://127.0.0.1:${ports.challtestsrv}/${action}`, action === "set-txt" ? { host: fqdn, value } : { host: fqdn }).then(
        (status) => response.writeHead(status === 200 ? 200 : 502).end(),
        () => response.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => hook.listen(ports.hook, address, resolve));

  // Pebble makes its CA keys at start (a second or two).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const exited = processes.find((child) => child.exitCode !== null);
    if (exited) {
      await pebble.stop();
      throw new Error(`${exited.spawnfile} exited (${exited.exitCode}): ${log}`);
    }
    const ready = await httpsText(pebble.server, tls.ca).then(
      (answer) => answer.status === 200,
      () => false,
    );
    if (ready) return pebble;
    if (Date.now() > deadline) {
      await pebble.stop();
      throw new Error(`pebble did not answer on ${pebble.server} within 30 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A certificate a server presents, as `openssl s_client` reads it, and whether it verified. */
export interface Served {
  /** The leaf certificate (PEM). */
  pem: string;
  /** How many certificates the server sent (leaf and intermediates). */
  chainLength: number;
  /** `openssl s_client`'s "Verify return code" line (0 (ok) when the chain and the name verify). */
  verify: string;
}

/**
 * Connect like a client would (implicit TLS, or STARTTLS for smtp/ldap), check the chain against `root`
 * and the name, and return what the server presented.
 */
export function servedCertificate(options: { ip: string; port: number; name: string; root: string; starttls?: "smtp" | "ldap" }): Served {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "served-"));
  try {
    const rootFile = path.join(dir, "root.pem");
    fs.writeFileSync(rootFile, options.root);
    const args = [
      "s_client",
      "-connect",
      `${options.ip}:${options.port}`,
      "-servername",
      options.name,
      "-verify_hostname",
      options.name,
      "-CAfile",
      rootFile,
      "-showcerts",
      ...(options.starttls ? ["-starttls", options.starttls] : []),
    ];
    let output: string;
    try {
      output = execFileSync("openssl", args, { input: "", stdio: "pipe", timeout: 20_000 }).toString();
    } catch (error) {
      const failed = error as { stdout?: Buffer; stderr?: Buffer };
      output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
    }
    const certificates = output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return {
      pem: certificates[0] ? `${certificates[0]}\n` : "",
      chainLength: certificates.length,
      verify: /Verify return code: (.*)/.exec(output)?.[1] ?? `no answer: ${output.slice(-300)}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
