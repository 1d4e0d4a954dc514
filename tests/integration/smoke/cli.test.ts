import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { collaboraFrameAncestors } from "../../../platform/upstream-images";
import { renderStack } from "../../../stacks/render";
import { smokePlan, type SmokePlan } from "../../../stacks/smoke-checks";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const OFFICE_PAGE = "/browser/0a1b2c3/cool.html";

/**
 * `npm run smoke` end to end against stand-ins for pica01: one HTTPS server answering for every name of
 * the stack (certificates from a CA made here with openssl), and a Docker engine API on a unix socket. The
 * stand-in Collabora builds its frame-ancestors as coolwsd does (platform/upstream-images.ts), from the
 * WOPISrc the smoke check opens its editor page with. Each scenario makes the host answer right or wrong.
 */

interface Behaviour {
  /** Per host name: what GET / answers (a status code). */
  route: Record<string, number>;
  /** Per tenant host: status.php's JSON. */
  status: Record<string, object>;
  /** Collabora: the host its discovery puts in the editor URLs. */
  discoveryHost: string;
  /** Collabora: the WOPISrc coolwsd sees (what the tenant's callback URL made it); undefined: the one given. */
  wopiSrcSeen?: (given: string) => string;
  ping: object;
  /** Per job container: its state and log; `exitsAfter`: it has exited 0 once asked that many times. */
  jobs: Record<string, { State: { Status: string; ExitCode: number; StartedAt?: string }; log?: string[]; exitsAfter?: number }>;
  /** Host names served with a certificate of no trusted CA (Traefik's default certificate). */
  untrusted: string[];
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/** A CA, a certificate it signs for `names`, and a self-signed one for the same names. */
function certificates(dir: string, names: string[]) {
  fs.writeFileSync(path.join(dir, "san.cnf"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
  openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=smoke test CA",
  );
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${names[0]}`);
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.cnf",
  );
  openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "default.key",
    "-out",
    "default.pem",
    "-days",
    "2",
    "-subj",
    "/CN=TRAEFIK DEFAULT CERT",
  );
  const read = (file: string) => fs.readFileSync(path.join(dir, file));
  return {
    caFile: path.join(dir, "ca.pem"),
    trusted: tls.createSecureContext({ key: read("server.key"), cert: read("server.pem") }),
    untrusted: tls.createSecureContext({ key: read("default.key"), cert: read("default.pem") }),
  };
}

function dockerLog(lines: string[]): Buffer {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(""));
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(text.length, 4);
  return Buffer.concat([header, text]);
}

function runSmoke(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "sucrase/register/ts", "stacks/smoke.ts", "--stack", "pica01", ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run smoke against stand-ins for pica01", () => {
  let dir: string;
  let plan: SmokePlan;
  let host: Behaviour;
  let web: https.Server;
  let engine: http.Server;
  let connectTo: string;
  let caFile: string;
  let socket: string;
  const hostOf = (url: string) => new URL(url).hostname;

  const rightAnswers = (): Behaviour => ({
    route: Object.fromEntries(plan.routes.map((r) => [hostOf(r.url), 302])),
    status: Object.fromEntries(
      plan.tenants.map((t) => [hostOf(t.url), { installed: true, maintenance: false, needsDbUpgrade: false, versionstring: "30.0.4" }]),
    ),
    discoveryHost: hostOf(plan.office!.url),
    ping: { status: "OK" },
    jobs: Object.fromEntries(
      plan.tenants.map((t) => [t.occJob!, { State: { Status: "exited", ExitCode: 0 }, log: ["occ-job: done: every setting applied"] }]),
    ),
    untrusted: [],
  });

  beforeAll(async () => {
    plan = smokePlan(await renderStack("pica01"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "smoke-"));
    const names = plan.routes.map((r) => hostOf(r.url));
    const certs = certificates(dir, names);
    caFile = certs.caFile;

    web = https.createServer(
      { SNICallback: (name, done) => done(null, host.untrusted.includes(name) ? certs.untrusted : certs.trusted) },
      (request, response) => {
        const name = (request.headers.host ?? "").split(":")[0];
        const url = new URL(request.url ?? "/", `https://${name}`);
        const json = (status: number, body: object) =>
          response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
        if (url.pathname === "/status.php" && host.status[name]) return json(200, host.status[name]);
        if (name === hostOf(plan.office!.url) && url.pathname === "/hosting/discovery") {
          const urlsrc = `https://${host.discoveryHost}${OFFICE_PAGE}?`;
          return response
            .writeHead(200, { "content-type": "text/xml" })
            .end(
              `<?xml version="1.0"?><wopi-discovery><net-zone name="external-http"><app name="writer"><action ext="odt" name="edit" urlsrc="${urlsrc}"/></app></net-zone></wopi-discovery>`,
            );
        }
        if (name === hostOf(plan.office!.url) && url.pathname === OFFICE_PAGE) {
          const given = url.searchParams.get("WOPISrc") ?? "";
          const wopiSrc = host.wopiSrcSeen ? host.wopiSrcSeen(given) : given;
          const ancestors = collaboraFrameAncestors({ serverHost: name, wopiSrc }).join(" ");
          return response
            .writeHead(200, { "content-security-policy": `default-src 'none'; frame-ancestors ${ancestors}; img-src 'self' ${ancestors}` })
            .end("<html></html>");
        }
        if (name === hostOf(plan.mattermost!.url) && url.pathname === "/api/v4/system/ping") return json(200, host.ping);
        const status = host.route[name] ?? 404;
        return response.writeHead(status, status === 302 ? { location: "/login" } : {}).end(status === 404 ? "404 page not found\n" : "");
      },
    );
    await new Promise<void>((done) => web.listen(0, "127.0.0.1", done));
    connectTo = `127.0.0.1:${(web.address() as AddressInfo).port}`;

    socket = path.join(dir, "docker.sock");
    engine = http.createServer((request, response) => {
      const match = /^\/containers\/([^/]+)\/(json|logs)/.exec(request.url ?? "");
      const job = match && host.jobs[decodeURIComponent(match[1])];
      if (!job)
        return response.writeHead(404, { "content-type": "application/json" }).end(`{"message":"No such container: ${match?.[1]}"}`);
      if (match[2] === "logs")
        return response.writeHead(200, { "content-type": "application/vnd.docker.multiplexed-stream" }).end(dockerLog(job.log ?? []));
      if (job.exitsAfter !== undefined && --job.exitsAfter <= 0) job.State = { Status: "exited", ExitCode: 0 };
      return response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ Name: `/${match[1]}`, State: job.State }));
    });
    await new Promise<void>((done) => engine.listen(socket, done));
  });

  beforeEach(() => {
    host = rightAnswers();
  });

  afterAll(async () => {
    await new Promise((done) => web?.close(done));
    await new Promise((done) => engine?.close(done));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const standInArgs = () => ["--connect-to", connectTo, "--ca-file", caFile, "--docker-host", `unix://${socket}`, "--wait", "0"];

  it("passes every check of a host that works, prints the table and exits 0", async () => {
    const result = await runSmoke(standInArgs());
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/│ check\s+│ target\s+│ result │ detail/);
    expect(result.stdout).toContain("frame-ancestors allows https://cloud.picasoft.example.org");
    expect(result.stdout.trim().split("\n").at(-1)).toBe("smoke pica01: all 12 checks passed");
  });

  it("names every failure of a host that answers wrong, and exits 1", async () => {
    const [asso, transition] = plan.tenants;
    host.route[hostOf(plan.mattermost!.url)] = 502;
    host.route[hostOf(transition.url)] = 404;
    host.status[hostOf(asso.url)] = { installed: true, maintenance: true };
    host.status[hostOf(transition.url)] = { installed: false, maintenance: false };
    // Nextcloud still gives Collabora its edge-network name as WOPISrc (the callback URL before the fix).
    host.wopiSrcSeen = (given) => given.replace(/^https:\/\/[^/]+/, "http://nextcloud-asso");
    host.ping = { status: "UNHEALTHY" };
    host.jobs[asso.occJob!] = {
      State: { Status: "exited", ExitCode: 1 },
      log: ["occ-job: step office-app: FAILED (exit 1)", "occ-job: done: failed steps: office-app"],
    };
    host.jobs[transition.occJob!] = { State: { Status: "running", ExitCode: 0, StartedAt: "2026-01-01T10:00:00Z" } };

    const result = await runSmoke(standInArgs());
    expect(result.code).toBe(1);
    const failures = result.stdout.slice(result.stdout.indexOf("smoke pica01:")).trim().split("\n");
    expect(failures[0]).toBe("smoke pica01: 9 of 12 checks failed:");
    expect(failures.slice(1)).toEqual([
      "  - route https://chat.picasoft.example.org: HTTP 502 (the proxy reaches no healthy container)",
      "  - route https://cloud.compiegne-en-transition.example.org: HTTP 404 from the proxy itself: no route for this host name",
      "  - nextcloud status https://cloud.picasoft.example.org: status.php: in maintenance mode",
      "  - nextcloud status https://cloud.compiegne-en-transition.example.org: status.php: not installed",
      "  - office frame https://cloud.picasoft.example.org: frame-ancestors office.picasoft.example.org:* nextcloud-asso:* does not allow https://cloud.picasoft.example.org: Nextcloud Office stays blank",
      "  - office frame https://cloud.compiegne-en-transition.example.org: frame-ancestors office.picasoft.example.org:* nextcloud-asso:* does not allow https://cloud.compiegne-en-transition.example.org: Nextcloud Office stays blank",
      '  - mattermost ping https://chat.picasoft.example.org: ping: status "UNHEALTHY"',
      `  - occ job ${asso.occJob}: exited 1: some steps failed (each named in the job's log); the others were applied | occ-job: step office-app: FAILED (exit 1) | occ-job: done: failed steps: office-app`,
      `  - occ job ${transition.occJob}: still running (started 2026-01-01T10:00:00Z)`,
    ]);
  });

  it("refuses a certificate no trusted CA signed (the proxy's default certificate while ACME has none)", async () => {
    host.untrusted = [hostOf(plan.office!.url)];
    const result = await runSmoke(standInArgs());
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /- route https:\/\/office\.picasoft\.example\.org: certificate not valid: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/,
    );
    expect(result.stdout).toMatch(
      /- office discovery https:\/\/office\.picasoft\.example\.org: no answer: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/,
    );
  });

  it("reports Collabora's editors on another host than its public URL", async () => {
    host.discoveryHost = "collabora";
    const result = await runSmoke(standInArgs());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "- office discovery https://office.picasoft.example.org: discovery: editors on https://collabora, not https://office.picasoft.example.org (server_name?)",
    );
  });

  it("checks again until a job that is still running has exited", async () => {
    const job = plan.tenants[0].occJob!;
    host.jobs[job] = { State: { Status: "running", ExitCode: 0, StartedAt: "now" }, exitsAfter: 3 };
    const result = await runSmoke([...standInArgs().slice(0, -2), "--wait", "60", "--interval", "1"]);
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([
      `smoke pica01: 1 failing (occ job ${job}); again in 1 s`,
      `smoke pica01: 1 failing (occ job ${job}); again in 1 s`,
    ]);
  });

  it("reads the jobs over the stack's own SSH connection, trusting only its pinned host key", async () => {
    // A stand-in ssh: records its arguments and, for `docker system dial-stdio`, bridges to the stand-in engine.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(
      path.join(bin, "ssh"),
      `#!${process.execPath}
require("fs").appendFileSync(${JSON.stringify(path.join(dir, "ssh-args"))}, JSON.stringify(process.argv.slice(2)) + "\\n");
const s = require("net").connect(${JSON.stringify(socket)});
process.stdin.pipe(s); s.pipe(process.stdout);
s.on("close", () => process.exit(0));
`,
      { mode: 0o755 },
    );
    const result = await runSmoke(["--connect-to", connectTo, "--ca-file", caFile, "--wait", "0"], { PATH: `${bin}:${process.env.PATH}` });
    expect(result.code).toBe(0);
    const calls = fs
      .readFileSync(path.join(dir, "ssh-args"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as string[]);
    expect(calls.length).toBe(2);
    for (const args of calls) {
      expect(args.slice(-4)).toEqual(["deploy@pica01.picasoft.example.org", "docker", "system", "dial-stdio"]);
      expect(args).toEqual(
        expect.arrayContaining([
          "StrictHostKeyChecking=yes",
          "UserKnownHostsFile=/dev/null",
          `KnownHostsCommand=/bin/echo %H ${plan.hostKey}`,
          "BatchMode=yes",
        ]),
      );
    }
  });

  it("says which stack it does not know, and exits 2", async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ["-r", "sucrase/register/ts", "stacks/smoke.ts", "--stack", "nowhere"],
        { cwd: REPO_ROOT },
        (error, _out, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr }),
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^--stack: /);
  });
});
