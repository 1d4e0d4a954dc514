import { richdocumentsWopiSrc } from "../platform/upstream-images";
import { OCC_EXIT_CODES } from "../services/nextcloud/occ";
import type { RenderedContainer, RenderedStack } from "./rendered";

/**
 * What `npm run smoke` checks after a deploy, as pure functions: the expectations come from the rendered
 * stack (routes, tenants, job names), the verdicts from the HTTP answers the host gave. stacks/smoke.ts
 * fetches the answers and prints the verdicts; the tests feed these functions right and wrong answers.
 */

/** An HTTP(S) answer, or why there was none. Header names in lower case. */
export interface HttpAnswer {
  url: string;
  /** Set when no HTTP answer came: DNS, connection, TLS or time-out error. */
  error?: { code: string; message: string };
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** HTTPS only: whether the certificate was checked against the trusted CAs for the URL's host. */
  certificate?: { verified: boolean; validTo?: string; error?: string };
}

export interface Verdict {
  ok: boolean;
  detail: string;
}

/** One check of one target, with what it needs to fetch. */
export interface SmokeCheck {
  /** What is checked, in a few words: the table's first column. */
  name: string;
  /** URL, tenant or container it is about. */
  target: string;
}

export interface Tenant {
  /** The tenant's Nextcloud container (`nextcloud-asso`). */
  container: string;
  /** Its public URL (`https://cloud.example.org`). */
  url: string;
  /** Its occ job's container (name carries the settings' hash). */
  occJob?: string;
  /** The WOPISrc richdocuments gives Collabora for its documents, from the job's callback URL. */
  wopiSrc?: string;
}

/** What a deployed host must show, derived from its rendered stack. */
export interface SmokePlan {
  stack: string;
  /** The host's Docker engine (`infra:docker`): where the jobs' exit codes are read. */
  docker: string;
  /** The host key the stack pins for SSH (remote hosts). */
  hostKey?: string;
  /** `self-signed`: the proxy serves its own certificate, which is not checked. */
  tls: "acme" | "self-signed";
  routes: { url: string; container: string }[];
  tenants: Tenant[];
  office?: { url: string };
  mattermost?: { url: string };
}

/** Any file id will do: coolwsd builds the frame's policy from the WOPISrc's host before it looks at the file. */
export const PROBE_FILE_ID = "smoke-check";

function appWithRoute(stack: RenderedStack, service: string): { container: RenderedContainer; url: string }[] {
  return stack.containers
    .filter((c) => c.service === service && c.role === "app")
    .flatMap((container) => stack.routes.filter((r) => r.container === container.name).map((r) => ({ container, url: r.url })));
}

export function smokePlan(stack: RenderedStack): SmokePlan {
  const config = stack.config;
  const tenants = appWithRoute(stack, "nextcloud").map(({ container, url }): Tenant => {
    const job = stack.containers.find((c) => c.role === "job" && new RegExp(`^${container.name}-occ-[0-9a-f]+$`).test(c.name));
    const callback = job?.env.OCC_WOPI_CALLBACK_URL;
    return {
      container: container.name,
      url,
      occJob: job?.name,
      wopiSrc: callback ? richdocumentsWopiSrc(callback, PROBE_FILE_ID) : undefined,
    };
  });
  const office = appWithRoute(stack, "collabora")[0];
  const mattermost = appWithRoute(stack, "mattermost")[0];
  return {
    stack: stack.stack,
    docker: config.docker,
    hostKey: config.provisioning?.hostKey,
    tls: config.services.proxy.tls,
    routes: [...stack.routes],
    tenants,
    office: office && { url: office.url },
    mattermost: mattermost && { url: mattermost.url },
  };
}

function noAnswer(answer: HttpAnswer): Verdict | undefined {
  if (answer.error) return { ok: false, detail: `no answer: ${answer.error.code} ${answer.error.message}` };
  return undefined;
}

function json(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.body ?? "");
  } catch {
    return undefined;
  }
}

/** Every route answers over HTTPS, with a certificate valid for its name (unless the stack serves a self-signed one). */
export function checkRoute(answer: HttpAnswer, tls: SmokePlan["tls"]): Verdict {
  if (tls !== "self-signed" && answer.certificate && !answer.certificate.verified) {
    return { ok: false, detail: `certificate not valid: ${answer.certificate.error ?? "not verified"}` };
  }
  const missing = noAnswer(answer);
  if (missing) return missing;
  const certificate =
    tls === "self-signed"
      ? "certificate not checked (tls: self-signed)"
      : answer.certificate?.verified
        ? `certificate valid until ${answer.certificate.validTo ?? "?"}`
        : undefined;
  if (certificate === undefined) return { ok: false, detail: `certificate not valid: ${answer.certificate?.error ?? "not verified"}` };
  if (answer.status === undefined || answer.status >= 500)
    return { ok: false, detail: `HTTP ${answer.status ?? "?"} (the proxy reaches no healthy container)` };
  if (answer.status === 404 && answer.body?.trim() === "404 page not found") {
    return { ok: false, detail: "HTTP 404 from the proxy itself: no route for this host name" };
  }
  return { ok: true, detail: `HTTP ${answer.status}, ${certificate}` };
}

/** status.php of a tenant: installed, not in maintenance, no database upgrade pending. */
export function checkNextcloudStatus(answer: HttpAnswer): Verdict {
  const missing = noAnswer(answer);
  if (missing) return missing;
  if (answer.status !== 200) return { ok: false, detail: `status.php: HTTP ${answer.status}` };
  const status = json(answer) as
    { installed?: boolean; maintenance?: boolean; needsDbUpgrade?: boolean; versionstring?: string } | undefined;
  if (!status || typeof status !== "object") return { ok: false, detail: "status.php: not JSON" };
  if (status.installed !== true) return { ok: false, detail: "status.php: not installed" };
  if (status.maintenance !== false) return { ok: false, detail: "status.php: in maintenance mode" };
  if (status.needsDbUpgrade === true) return { ok: false, detail: "status.php: database upgrade pending" };
  return { ok: true, detail: `installed, not in maintenance (Nextcloud ${status.versionstring ?? "?"})` };
}

/** The editor URLs (`urlsrc`) of a WOPI discovery document. */
export function discoveryUrlsrcs(xml: string): string[] {
  return [...xml.matchAll(/\burlsrc="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));
}

/** Collabora's discovery: reachable, a WOPI discovery, its editors on Collabora's public URL. */
export function checkDiscovery(answer: HttpAnswer, officeUrl: string): Verdict {
  const missing = noAnswer(answer);
  if (missing) return missing;
  if (answer.status !== 200) return { ok: false, detail: `discovery: HTTP ${answer.status}` };
  if (!/<wopi-discovery[\s>]/.test(answer.body ?? "")) return { ok: false, detail: "discovery: not a WOPI discovery document" };
  const urls = discoveryUrlsrcs(answer.body ?? "");
  if (urls.length === 0) return { ok: false, detail: "discovery: lists no editor (urlsrc)" };
  const elsewhere = urls.filter((url) => !url.startsWith(`${officeUrl}/`));
  if (elsewhere.length > 0)
    return { ok: false, detail: `discovery: editors on ${new URL(elsewhere[0]).origin}, not ${officeUrl} (server_name?)` };
  return { ok: true, detail: `${urls.length} editors on ${officeUrl}` };
}

/** The editor page for a document of this WOPISrc: the first text editor of the discovery, with the WOPISrc. */
export function editorUrl(discoveryXml: string, wopiSrc: string): string | undefined {
  const urls = discoveryUrlsrcs(discoveryXml);
  const editor = urls.find((url) => /\/cool\.html\?/.test(url)) ?? urls[0];
  if (!editor) return undefined;
  const separator = editor.endsWith("?") || editor.endsWith("&") ? "" : editor.includes("?") ? "&" : "?";
  return `${editor}${separator}WOPISrc=${encodeURIComponent(wopiSrc)}`;
}

/** The sources of a directive in a Content-Security-Policy header (undefined when the directive is absent). */
export function cspDirective(header: string, name: string): string[] | undefined {
  for (const directive of header.split(/[;,]/)) {
    const [key, ...values] = directive.trim().split(/\s+/);
    if (key?.toLowerCase() === name) return values;
  }
  return undefined;
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443" };

/**
 * Whether a CSP source list allows `origin` (CSP3 source matching for frame-ancestors): `*`, `'self'`, a
 * scheme (`https:`), or `[scheme://]host[:port]` where host may start with `*.` and port may be `*`; a
 * source without a scheme takes the protected page's scheme (http also matching https).
 */
export function sourceListAllows(sources: string[], origin: string, self: string): boolean {
  const url = new URL(origin);
  const own = new URL(self);
  return sources.some((raw) => {
    const source = raw.toLowerCase();
    if (source === "'none'") return false;
    if (source === "*") return url.protocol === "https:" || url.protocol === "http:";
    if (source === "'self'") return url.origin === own.origin;
    if (/^[a-z][a-z0-9+.-]*:$/.test(source)) return url.protocol === source || (source === "http:" && url.protocol === "https:");
    const match = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*|\*\.[^:/]+|[^:/*]+)(?::(\*|\d+))?(?:\/.*)?$/.exec(source);
    if (!match) return false;
    const [, scheme, host, port] = match;
    const schemeOk = scheme
      ? `${scheme}:` === url.protocol || (scheme === "http" && url.protocol === "https:")
      : url.protocol === own.protocol || (own.protocol === "http:" && url.protocol === "https:");
    if (!schemeOk) return false;
    const hostOk = host === "*" || (host.startsWith("*.") ? url.hostname.endsWith(host.slice(1)) : url.hostname === host);
    if (!hostOk) return false;
    const urlPort = url.port || DEFAULT_PORTS[url.protocol];
    if (port === "*") return true;
    if (port !== undefined) return port === urlPort;
    return urlPort === DEFAULT_PORTS[url.protocol];
  });
}

/** Whether a Content-Security-Policy header lets `origin` frame the page at `self`. */
export function cspAllowsFrameAncestor(header: string, origin: string, self: string): boolean {
  const sources = cspDirective(header, "frame-ancestors");
  return sources === undefined || sourceListAllows(sources, origin, self);
}

/** The editor page opened with the tenant's WOPISrc may be framed by the tenant's page. */
export function checkOfficeFrame(answer: HttpAnswer, tenantUrl: string): Verdict {
  const missing = noAnswer(answer);
  if (missing) return missing;
  if (answer.status !== 200) return { ok: false, detail: `editor page: HTTP ${answer.status}` };
  const csp = answer.headers?.["content-security-policy"];
  if (!csp) return { ok: false, detail: "editor page: no Content-Security-Policy header" };
  const ancestors = cspDirective(csp, "frame-ancestors");
  const xfo = answer.headers?.["x-frame-options"];
  if (ancestors === undefined && xfo && !/^allow/i.test(xfo)) return { ok: false, detail: `X-Frame-Options ${xfo} refuses the frame` };
  const origin = new URL(tenantUrl).origin;
  if (!cspAllowsFrameAncestor(csp, origin, new URL(answer.url).origin)) {
    return {
      ok: false,
      detail: `frame-ancestors ${ancestors?.join(" ") || "(empty)"} does not allow ${origin}: Nextcloud Office stays blank`,
    };
  }
  return { ok: true, detail: `frame-ancestors allows ${origin}` };
}

/** Mattermost's /api/v4/system/ping says OK. */
export function checkMattermostPing(answer: HttpAnswer): Verdict {
  const missing = noAnswer(answer);
  if (missing) return missing;
  if (answer.status !== 200) return { ok: false, detail: `ping: HTTP ${answer.status}` };
  const ping = json(answer) as { status?: string } | undefined;
  if (ping?.status !== "OK") return { ok: false, detail: `ping: status ${JSON.stringify(ping?.status ?? null)}` };
  return { ok: true, detail: "ping: OK" };
}

/**
 * A job container's state from the Docker engine (GET /containers/<name>/json, the same API the Docker
 * provider uses), and the last lines of its log for a job that failed.
 */
export function checkOccJob(inspect: HttpAnswer, logLines: string[] = []): Verdict {
  const missing = noAnswer(inspect);
  if (missing) return missing;
  if (inspect.status === 404) return { ok: false, detail: "no such container on the host: was the stack deployed from this commit?" };
  if (inspect.status !== 200) return { ok: false, detail: `Docker engine: HTTP ${inspect.status} ${inspect.body?.trim() ?? ""}` };
  const state = (json(inspect) as { State?: { Status?: string; ExitCode?: number; StartedAt?: string } } | undefined)?.State;
  if (!state?.Status) return { ok: false, detail: "Docker engine: no container state in the answer" };
  const failedStep = logLines.filter((line) => /^occ-job: (step .*(FAILED|skipped)|done:)/.test(line));
  const log = failedStep.length > 0 ? ` | ${failedStep.join(" | ")}` : "";
  if (state.Status === "running" || state.Status === "created" || state.Status === "restarting") {
    return { ok: false, detail: `still ${state.Status} (started ${state.StartedAt ?? "?"})` };
  }
  if (state.Status !== "exited") return { ok: false, detail: `container ${state.Status}` };
  if (state.ExitCode !== 0) {
    const meaning = OCC_EXIT_CODES[state.ExitCode ?? -1] ?? "unexpected exit code";
    return { ok: false, detail: `exited ${state.ExitCode}: ${meaning}${log}` };
  }
  return { ok: true, detail: "exited 0: every setting applied" };
}

/** The payload of a Docker log stream (8-byte frame headers when the container has no TTY), as lines. */
export function dockerLogLines(raw: Buffer): string[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  const framed = raw.length >= 8 && [0, 1, 2].includes(raw[0]) && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) return raw.toString("utf8").split("\n").filter(Boolean);
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
}
