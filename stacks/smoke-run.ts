import { spawn } from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { pinnedHostKeySshOptions, sshTarget } from "../hosts/settings";
import {
  checkDiscovery,
  checkMattermostPing,
  checkNextcloudStatus,
  checkOccJob,
  checkOfficeFrame,
  checkRoute,
  dockerLogLines,
  editorUrl,
  type HttpAnswer,
  type SmokeCheck,
  type SmokePlan,
  type Verdict,
} from "./smoke-checks";

/**
 * How `npm run smoke` gets its answers (HTTPS from outside, the Docker engine over the stack's own
 * connection) and runs the checks of stacks/smoke-checks.ts until they pass or the time is up.
 */

export type SmokeResult = SmokeCheck & Verdict;

/** Where the answers come from: the real host (below), or stand-ins in the tests. */
export interface Probe {
  https(url: string): Promise<HttpAnswer>;
  /** GET a path of the host's Docker engine API; `raw` is the body as bytes (logs are framed). */
  docker(path: string): Promise<{ answer: HttpAnswer; raw?: Buffer }>;
}

/** One round of every check of the plan, in a stable order. */
export async function runChecks(plan: SmokePlan, probe: Probe): Promise<SmokeResult[]> {
  const checks: Promise<SmokeResult>[] = [];
  const add = (name: string, target: string, verdict: () => Promise<Verdict>) =>
    checks.push(
      verdict().then(
        (v) => ({ name, target, ...v }),
        (error: Error) => ({ name, target, ok: false, detail: `check failed: ${error.message}` }),
      ),
    );

  for (const route of plan.routes) add("route", route.url, async () => checkRoute(await probe.https(route.url), plan.tls));
  for (const tenant of plan.tenants)
    add("nextcloud status", tenant.url, async () => checkNextcloudStatus(await probe.https(`${tenant.url}/status.php`)));
  if (plan.office) {
    const officeUrl = plan.office.url;
    const discovery = probe.https(`${officeUrl}/hosting/discovery`);
    add("office discovery", officeUrl, async () => checkDiscovery(await discovery, officeUrl));
    for (const tenant of plan.tenants.filter((t) => t.wopiSrc)) {
      add("office frame", tenant.url, async () => {
        const answer = await discovery;
        const editor = answer.status === 200 ? editorUrl(answer.body ?? "", tenant.wopiSrc as string) : undefined;
        if (!editor) return { ok: false, detail: "no editor URL: Collabora's discovery did not answer with one" };
        return checkOfficeFrame(await probe.https(editor), tenant.url);
      });
    }
  }
  if (plan.mattermost) {
    const url = plan.mattermost.url;
    add("mattermost ping", url, async () => checkMattermostPing(await probe.https(`${url}/api/v4/system/ping`)));
  }
  for (const tenant of plan.tenants.filter((t) => t.occJob)) {
    const job = tenant.occJob as string;
    add("occ job", job, async () => {
      const { answer } = await probe.docker(`/containers/${encodeURIComponent(job)}/json`);
      const exitCode = (parseJson(answer.body) as { State?: { Status?: string; ExitCode?: number } } | undefined)?.State;
      const failed = exitCode?.Status === "exited" && exitCode.ExitCode !== 0;
      const logs = failed ? await probe.docker(`/containers/${encodeURIComponent(job)}/logs?stdout=1&stderr=1&tail=30`) : undefined;
      return checkOccJob(answer, logs?.raw ? dockerLogLines(logs.raw) : []);
    });
  }
  return Promise.all(checks);
}

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return undefined;
  }
}

export interface SmokeOptions {
  /** Run the checks again until they all pass or this many seconds have passed (0: once). */
  waitSeconds: number;
  intervalSeconds: number;
  /** Told after each failing round, with the failures and when the next round starts. */
  onRetry?: (failing: SmokeResult[], nextInSeconds: number) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Rounds of checks until all pass or the wait is over; the last round's results. */
export async function smoke(plan: SmokePlan, probe: Probe, options: SmokeOptions): Promise<SmokeResult[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const deadline = now() + options.waitSeconds * 1000;
  for (;;) {
    const results = await runChecks(plan, probe);
    const failing = results.filter((r) => !r.ok);
    if (failing.length === 0 || now() + options.intervalSeconds * 1000 > deadline) return results;
    options.onRetry?.(failing, options.intervalSeconds);
    await sleep(options.intervalSeconds * 1000);
  }
}

export interface HttpsProbeOptions {
  /** Connect every HTTPS request to this `host:port` instead of the URL's (names, SNI and certificate checks unchanged). */
  connectTo?: string;
  /** PEM certificates trusted besides the system's (a test CA, a staging ACME CA). */
  extraCa?: string[];
  /** Whether certificates are checked (false for a stack whose proxy serves a self-signed certificate). */
  verify: boolean;
  timeoutMs?: number;
}

const MAX_BODY = 1 << 20;
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT/;

/** GET an HTTPS URL: status, headers, body, and whether its certificate was valid for the name. */
export function fetchHttps(url: string, options: HttpsProbeOptions): Promise<HttpAnswer> {
  const target = new URL(url);
  const [connectHost, connectPort] = options.connectTo ? splitHostPort(options.connectTo) : [target.hostname, Number(target.port || 443)];
  return new Promise((resolve) => {
    const request = https.request(
      {
        method: "GET",
        host: connectHost,
        port: connectPort,
        path: `${target.pathname}${target.search}`,
        servername: target.hostname,
        headers: { host: target.host, "user-agent": "infra-smoke", accept: "*/*" },
        ca: options.extraCa?.length ? [...tls.rootCertificates, ...options.extraCa] : undefined,
        rejectUnauthorized: options.verify,
        agent: false,
        timeout: options.timeoutMs ?? 15_000,
      },
      (response) => {
        const socket = response.socket as tls.TLSSocket;
        const peer = socket.getPeerCertificate?.();
        const certificate = { verified: socket.authorized === true, validTo: peer?.valid_to, error: socket.authorizationError?.toString() };
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY) chunks.push(chunk);
        });
        response.on("end", () =>
          resolve({
            url,
            status: response.statusCode,
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(", ") : (v ?? "")]),
            ),
            body: Buffer.concat(chunks).toString("utf8"),
            certificate,
          }),
        );
        response.on("error", (error: NodeJS.ErrnoException) =>
          resolve({ url, error: { code: error.code ?? "ERROR", message: error.message } }),
        );
      },
    );
    request.on("timeout", () =>
      request.destroy(Object.assign(new Error(`no answer within ${(options.timeoutMs ?? 15_000) / 1000} s`), { code: "ETIMEDOUT" })),
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "ERROR";
      const certificate = CERTIFICATE_ERROR.test(code) ? { verified: false, error: `${code}: ${error.message}` } : undefined;
      resolve({ url, error: { code, message: error.message }, certificate });
    });
    request.end();
  });
}

function splitHostPort(text: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (!match) throw new Error(`expected host:port, got ${text}`);
  return [match[1], Number(match[2])];
}

export interface DockerProbeOptions {
  /** The stack's `infra:docker`: unix:///path, tcp://host:port or ssh://user@host[:port]. */
  docker: string;
  /** The host key the stack pins (ssh:// only): ssh trusts nothing else, as the Docker provider does. */
  hostKey?: string;
  /** The ssh program (tests put a stand-in on PATH). */
  ssh?: string;
  timeoutMs?: number;
}

/**
 * GET a path of a Docker engine API. Over ssh:// it runs `docker system dial-stdio` on the host (what the
 * docker CLI and the Docker provider do) and speaks HTTP through it; unversioned paths take the engine's
 * own API version.
 */
export function dockerGet(path: string, options: DockerProbeOptions): Promise<{ answer: HttpAnswer; raw?: Buffer }> {
  const url = `${options.docker}${path}`;
  let connection: Pick<http.RequestOptions, "socketPath" | "host" | "port" | "createConnection">;
  let stderr = "";
  let child: ReturnType<typeof spawn> | undefined;
  if (options.docker.startsWith("unix://")) connection = { socketPath: options.docker.slice("unix://".length) };
  else if (options.docker.startsWith("tcp://")) {
    const [host, port] = splitHostPort(options.docker.slice("tcp://".length));
    connection = { host, port };
  } else {
    const target = sshTarget(options.docker);
    if (!target)
      return Promise.resolve({ answer: { url, error: { code: "EINVAL", message: `unsupported Docker host ${options.docker}` } } });
    const args = [
      ...(options.hostKey ? pinnedHostKeySshOptions(options.hostKey) : []),
      "-o",
      "BatchMode=yes",
      "-p",
      String(target.port),
      `${target.user}@${target.host}`,
      "docker",
      "system",
      "dial-stdio",
    ];
    connection = {
      createConnection: () => {
        child = spawn(options.ssh ?? "ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        return Duplex.from({ readable: child.stdout!, writable: child.stdin! }) as unknown as import("node:net").Socket;
      },
    };
  }
  return new Promise((resolve) => {
    const done = (result: { answer: HttpAnswer; raw?: Buffer }) => {
      child?.kill();
      resolve(result);
    };
    const request = http.request(
      // No agent with createConnection (node uses an agent's connection otherwise); a fresh one for sockets.
      {
        ...connection,
        method: "GET",
        path,
        headers: { host: "docker" },
        agent: connection.createConnection ? undefined : false,
        timeout: options.timeoutMs ?? 20_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const raw = Buffer.concat(chunks);
          done({ answer: { url, status: response.statusCode, body: raw.toString("utf8") }, raw });
        });
      },
    );
    request.on("timeout", () =>
      request.destroy(Object.assign(new Error("the Docker engine did not answer in time"), { code: "ETIMEDOUT" })),
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      const detail = stderr.trim() ? `${error.message}; ssh: ${stderr.trim().split("\n").at(-1)}` : error.message;
      done({ answer: { url, error: { code: error.code ?? "ERROR", message: detail } } });
    });
    request.end();
  });
}
