import { beforeAll, describe, expect, it } from "vitest";
import { OCC_EXIT_CODES } from "../../../services/nextcloud/occ";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import {
  checkDiscovery,
  checkMattermostPing,
  checkNextcloudStatus,
  checkOccJob,
  checkOfficeFrame,
  checkRoute,
  cspAllowsFrameAncestor,
  dockerLogLines,
  editorUrl,
  smokePlan,
  type HttpAnswer,
  type SmokePlan,
} from "../../../stacks/smoke-checks";
import { containerOf } from "../../helpers/rendered";

const answer = (fields: Partial<HttpAnswer>): HttpAnswer => ({ url: "https://x.example.org/", ...fields });
const VALID = { verified: true, validTo: "Jan  1 00:00:00 2031 GMT" };
const OFFICE = "https://office.example.org";
const DISCOVERY = `<?xml version="1.0"?><wopi-discovery><net-zone name="external-http">
<app name="writer"><action default="true" ext="odt" name="edit" urlsrc="${OFFICE}/browser/a1b2c3/cool.html?"/></app>
<app name="calc"><action ext="ods" name="edit" urlsrc="${OFFICE}/browser/a1b2c3/cool.html?"/></app>
</net-zone><proof-key value="x"/></wopi-discovery>`;
const frame = (csp: string | undefined, status = 200) =>
  answer({
    url: `${OFFICE}/browser/a1b2c3/cool.html?WOPISrc=x`,
    status,
    headers: csp === undefined ? {} : { "content-security-policy": csp },
  });
const inspect = (state: Record<string, unknown>, status = 200) =>
  answer({ url: "unix:///var/run/docker.sock/containers/j/json", status, body: JSON.stringify({ State: state }) });

/** Each check against right and wrong answers: the failure says what is wrong in the words an operator reads. */
describe("smoke checks", () => {
  it.each<[string, HttpAnswer, SmokePlan["tls"], boolean, RegExp]>([
    [
      "a route answering with a valid certificate",
      answer({ status: 302, certificate: VALID }),
      "acme",
      true,
      /^HTTP 302, certificate valid until Jan/,
    ],
    [
      "a route with a certificate for another name",
      answer({
        error: { code: "ERR_TLS_CERT_ALTNAME_INVALID", message: "Hostname/IP does not match" },
        certificate: { verified: false, error: "ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match" },
      }),
      "acme",
      false,
      /^certificate not valid: ERR_TLS_CERT_ALTNAME_INVALID/,
    ],
    [
      "a route with Traefik's default certificate",
      answer({ status: 200, certificate: { verified: false, error: "DEPTH_ZERO_SELF_SIGNED_CERT" } }),
      "acme",
      false,
      /^certificate not valid: DEPTH_ZERO_SELF_SIGNED_CERT/,
    ],
    [
      "a self-signed stack's route",
      answer({ status: 200, certificate: { verified: false, error: "DEPTH_ZERO_SELF_SIGNED_CERT" } }),
      "self-signed",
      true,
      /certificate not checked \(tls: self-signed\)/,
    ],
    [
      "a route whose container is down",
      answer({ status: 502, certificate: VALID }),
      "acme",
      false,
      /^HTTP 502 \(the proxy reaches no healthy container\)/,
    ],
    [
      "a route the proxy does not know",
      answer({ status: 404, body: "404 page not found\n", certificate: VALID }),
      "acme",
      false,
      /no route for this host name/,
    ],
    [
      "a route that does not answer",
      answer({ error: { code: "ECONNREFUSED", message: "connect ECONNREFUSED 203.0.113.11:443" } }),
      "acme",
      false,
      /^no answer: ECONNREFUSED/,
    ],
  ])("route: %s", (_case, given, tls, ok, detail) => {
    const verdict = checkRoute(given, tls);
    expect(verdict.ok).toBe(ok);
    expect(verdict.detail).toMatch(detail);
  });

  it.each<[string, HttpAnswer, boolean, RegExp]>([
    [
      "installed",
      answer({ status: 200, body: '{"installed":true,"maintenance":false,"needsDbUpgrade":false,"versionstring":"30.0.4"}' }),
      true,
      /installed, not in maintenance \(Nextcloud 30\.0\.4\)/,
    ],
    ["not installed", answer({ status: 200, body: '{"installed":false,"maintenance":false}' }), false, /^status\.php: not installed$/],
    ["in maintenance", answer({ status: 200, body: '{"installed":true,"maintenance":true}' }), false, /^status\.php: in maintenance mode$/],
    [
      "waiting for a database upgrade",
      answer({ status: 200, body: '{"installed":true,"maintenance":false,"needsDbUpgrade":true}' }),
      false,
      /database upgrade pending/,
    ],
    ["an error page", answer({ status: 503, body: "<html>" }), false, /^status\.php: HTTP 503$/],
    ["not JSON", answer({ status: 200, body: "<html>Trusted domain error</html>" }), false, /^status\.php: not JSON$/],
  ])("nextcloud status.php: %s", (_case, given, ok, detail) => {
    expect(checkNextcloudStatus(given)).toEqual({ ok, detail: expect.stringMatching(detail) });
  });

  it.each<[string, HttpAnswer, boolean, RegExp]>([
    ["editors on the public URL", answer({ status: 200, body: DISCOVERY }), true, /^2 editors on https:\/\/office\.example\.org$/],
    ["not found", answer({ status: 404, body: "" }), false, /^discovery: HTTP 404$/],
    ["another document", answer({ status: 200, body: "<html></html>" }), false, /not a WOPI discovery document/],
    ["no editor", answer({ status: 200, body: "<wopi-discovery></wopi-discovery>" }), false, /lists no editor/],
    [
      "editors on the internal name",
      answer({ status: 200, body: DISCOVERY.replaceAll(OFFICE, "http://collabora:9980") }),
      false,
      /editors on http:\/\/collabora:9980, not https:\/\/office\.example\.org \(server_name\?\)/,
    ],
  ])("office discovery: %s", (_case, given, ok, detail) => {
    expect(checkDiscovery(given, OFFICE)).toEqual({ ok, detail: expect.stringMatching(detail) });
  });

  it("opens the editor of the discovery with the tenant's WOPISrc", () => {
    expect(editorUrl(DISCOVERY, "https://cloud.example.org/index.php/apps/richdocuments/wopi/files/smoke-check")).toBe(
      `${OFFICE}/browser/a1b2c3/cool.html?WOPISrc=https%3A%2F%2Fcloud.example.org%2Findex.php%2Fapps%2Frichdocuments%2Fwopi%2Ffiles%2Fsmoke-check`,
    );
  });

  it.each<[string, HttpAnswer, boolean, RegExp]>([
    [
      "frame-ancestors with the tenant's host (what coolwsd sends for its WOPISrc)",
      frame("default-src 'none'; frame-ancestors office.example.org:* cloud.example.org:*; img-src 'self'"),
      true,
      /^frame-ancestors allows https:\/\/cloud\.example\.org$/,
    ],
    [
      "frame-ancestors with the internal callback host only (the old WOPISrc)",
      frame("default-src 'none'; frame-ancestors office.example.org:* nextcloud-asso:*"),
      false,
      /^frame-ancestors office\.example\.org:\* nextcloud-asso:\* does not allow https:\/\/cloud\.example\.org: Nextcloud Office stays blank$/,
    ],
    ["frame-ancestors 'none'", frame("frame-ancestors 'none'"), false, /frame-ancestors 'none' does not allow/],
    ["no CSP header", frame(undefined), false, /no Content-Security-Policy header/],
    ["an error page", frame("frame-ancestors *", 400), false, /^editor page: HTTP 400$/],
  ])("office frame: %s", (_case, given, ok, detail) => {
    expect(checkOfficeFrame(given, "https://cloud.example.org")).toEqual({ ok, detail: expect.stringMatching(detail) });
  });

  it.each<[string, string, boolean]>([
    ["host with any port", "frame-ancestors cloud.example.org:*", true],
    ["host without port (443 for https)", "frame-ancestors cloud.example.org", true],
    ["https scheme and host", "frame-ancestors https://cloud.example.org", true],
    ["http scheme (https also matches)", "frame-ancestors http://cloud.example.org", true],
    ["wildcard subdomain", "frame-ancestors https://*.example.org", true],
    ["another port", "frame-ancestors cloud.example.org:8443", false],
    ["another host", "frame-ancestors cloud.example.com:*", false],
    ["a scheme source", "frame-ancestors https:", true],
    ["'self' of another origin", "frame-ancestors 'self'", false],
    ["no frame-ancestors at all", "default-src 'self'", true],
  ])("CSP source matching: %s", (_case, csp, allowed) => {
    expect(cspAllowsFrameAncestor(csp, "https://cloud.example.org", OFFICE)).toBe(allowed);
  });

  it.each<[string, HttpAnswer, boolean, RegExp]>([
    ["OK", answer({ status: 200, body: '{"ActiveSearchBackend":"database","status":"OK"}' }), true, /^ping: OK$/],
    ["unhealthy", answer({ status: 200, body: '{"status":"UNHEALTHY"}' }), false, /^ping: status "UNHEALTHY"$/],
    ["an error", answer({ status: 500, body: "" }), false, /^ping: HTTP 500$/],
  ])("mattermost ping: %s", (_case, given, ok, detail) => {
    expect(checkMattermostPing(given)).toEqual({ ok, detail: expect.stringMatching(detail) });
  });

  it.each<[string, HttpAnswer, string[], boolean, RegExp]>([
    ["exited 0", inspect({ Status: "exited", ExitCode: 0 }), [], true, /^exited 0: every setting applied$/],
    [
      "still waiting for the installation",
      inspect({ Status: "running", ExitCode: 0, StartedAt: "2026-01-01T10:00:00Z" }),
      [],
      false,
      /^still running \(started 2026-01-01T10:00:00Z\)$/,
    ],
    [
      "exited 1 after a failed step",
      inspect({ Status: "exited", ExitCode: 1 }),
      ["occ-job: step office-app: start", "occ-job: step office-app: FAILED (exit 1)", "occ-job: done: failed steps: office-app"],
      false,
      /^exited 1: some steps failed .* \| occ-job: step office-app: FAILED \(exit 1\) \| occ-job: done: failed steps: office-app$/,
    ],
    ["exited 2: never installed", inspect({ Status: "exited", ExitCode: 2 }), [], false, new RegExp(`^exited 2: ${OCC_EXIT_CODES[2]}`)],
    ["exited 3: deadline passed", inspect({ Status: "exited", ExitCode: 3 }), [], false, /^exited 3: the deadline passed while applying/],
    ["killed", inspect({ Status: "exited", ExitCode: 137 }), [], false, /^exited 137: killed/],
    [
      "missing on the host",
      answer({ status: 404, body: '{"message":"No such container: j"}' }),
      [],
      false,
      /^no such container on the host/,
    ],
    [
      "an engine that does not answer",
      answer({ error: { code: "ECONNREFUSED", message: "connect ECONNREFUSED /var/run/docker.sock" } }),
      [],
      false,
      /^no answer: ECONNREFUSED/,
    ],
  ])("occ job: %s", (_case, given, logs, ok, detail) => {
    expect(checkOccJob(given, logs)).toEqual({ ok, detail: expect.stringMatching(detail) });
  });

  it("reads the lines of a framed Docker log stream and of a plain one", () => {
    const frameOf = (stream: number, text: string) =>
      Buffer.concat([Buffer.from([stream, 0, 0, 0, 0, 0, 0, Buffer.byteLength(text)]), Buffer.from(text)]);
    expect(dockerLogLines(Buffer.concat([frameOf(1, "occ-job: step a: ok\n"), frameOf(2, "warning\nocc-job: done\n")]))).toEqual([
      "occ-job: step a: ok",
      "warning",
      "occ-job: done",
    ]);
    expect(dockerLogLines(Buffer.from("one\ntwo\n"))).toEqual(["one", "two"]);
  });
});

/** The expectations come from the rendered stack: nothing is listed by hand. */
describe("what the smoke check expects of pica01, from its rendered stack", () => {
  let stack: RenderedStack;
  let plan: SmokePlan;

  beforeAll(async () => {
    stack = await renderStack("pica01");
    plan = smokePlan(stack);
  });

  it("checks every route of the stack, on the stack's Docker engine with its pinned host key", () => {
    expect(plan.routes).toEqual(stack.routes);
    expect(plan.docker).toBe("ssh://deploy@pica01.picasoft.example.org");
    expect(plan.hostKey).toMatch(/^ssh-ed25519 /);
    expect(plan.tls).toBe("acme");
  });

  it("knows each tenant with its URL, its occ job by name and the WOPISrc its documents get", () => {
    expect(plan.tenants).toEqual([
      {
        container: "nextcloud-asso",
        url: "https://cloud.picasoft.example.org",
        occJob: containerOf(stack, /^nextcloud-asso-occ-/).name,
        wopiSrc: "https://cloud.picasoft.example.org/index.php/apps/richdocuments/wopi/files/smoke-check",
      },
      {
        container: "nextcloud-transition",
        url: "https://cloud.compiegne-en-transition.example.org",
        occJob: containerOf(stack, /^nextcloud-transition-occ-/).name,
        wopiSrc: "https://cloud.compiegne-en-transition.example.org/index.php/apps/richdocuments/wopi/files/smoke-check",
      },
    ]);
    expect(plan.office).toEqual({ url: "https://office.picasoft.example.org" });
    expect(plan.mattermost).toEqual({ url: "https://chat.picasoft.example.org" });
  });

  it("has nothing of the web services to check on pica02, only its routes", async () => {
    const pica02 = smokePlan(await renderStack("pica02"));
    expect(pica02.routes.map((r) => r.url).sort()).toEqual([
      "https://account.picasoft.example.org",
      "https://metrics.picasoft.example.org",
      "https://mta-sts.picasoft.example.org",
    ]);
    expect([pica02.tenants, pica02.office, pica02.mattermost]).toEqual([[], undefined, undefined]);
  });
});
