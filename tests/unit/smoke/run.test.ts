import { describe, expect, it } from "vitest";
import type { HttpAnswer, SmokePlan } from "../../../stacks/smoke-checks";
import { runChecks, smoke, type Probe } from "../../../stacks/smoke-run";

const PLAN: SmokePlan = {
  stack: "test",
  docker: "unix:///var/run/docker.sock",
  tls: "acme",
  routes: [{ url: "https://cloud.example.org", container: "nextcloud-asso" }],
  tenants: [
    {
      container: "nextcloud-asso",
      url: "https://cloud.example.org",
      occJob: "nextcloud-asso-occ-abc",
      wopiSrc: "https://cloud.example.org/index.php/apps/richdocuments/wopi/files/smoke-check",
    },
  ],
  office: { url: "https://office.example.org" },
  mattermost: { url: "https://chat.example.org" },
};
const DISCOVERY = '<wopi-discovery><action ext="odt" urlsrc="https://office.example.org/browser/h/cool.html?"/></wopi-discovery>';

/** A host where everything works, unless `jobState` says otherwise. */
function fakeHost(jobState: () => { Status: string; ExitCode: number }): Probe & { requests: string[] } {
  const requests: string[] = [];
  const ok = (url: string, fields: Partial<HttpAnswer>): HttpAnswer => ({ url, status: 200, certificate: { verified: true }, ...fields });
  return {
    requests,
    async https(url) {
      requests.push(url);
      if (url.endsWith("/status.php")) return ok(url, { body: '{"installed":true,"maintenance":false}' });
      if (url.endsWith("/hosting/discovery")) return ok(url, { body: DISCOVERY });
      if (url.includes("cool.html"))
        return ok(url, { headers: { "content-security-policy": "frame-ancestors office.example.org:* cloud.example.org:*" } });
      if (url.endsWith("/api/v4/system/ping")) return ok(url, { body: '{"status":"OK"}' });
      return ok(url, {});
    },
    async docker(path) {
      requests.push(`docker:${path}`);
      if (path.includes("/logs")) return { answer: { url: path, status: 200 }, raw: Buffer.from("occ-job: step ldap: FAILED (exit 1)\n") };
      return { answer: { url: path, status: 200, body: JSON.stringify({ State: jobState() }) } };
    },
  };
}

describe("a smoke run", () => {
  it("runs every check of the plan once, in a stable order, and opens the editor with the tenant's WOPISrc", async () => {
    const host = fakeHost(() => ({ Status: "exited", ExitCode: 0 }));
    const results = await runChecks(PLAN, host);
    expect(results.map((r) => `${r.name} ${r.target} ${r.ok}`)).toEqual([
      "route https://cloud.example.org true",
      "nextcloud status https://cloud.example.org true",
      "office discovery https://office.example.org true",
      "office frame https://cloud.example.org true",
      "mattermost ping https://chat.example.org true",
      "occ job nextcloud-asso-occ-abc true",
    ]);
    expect(host.requests).toContain(
      "https://office.example.org/browser/h/cool.html?WOPISrc=https%3A%2F%2Fcloud.example.org%2Findex.php%2Fapps%2Frichdocuments%2Fwopi%2Ffiles%2Fsmoke-check",
    );
    expect(host.requests).toContain("docker:/containers/nextcloud-asso-occ-abc/json");
  });

  it("reads the log of a job that failed and names its failed step", async () => {
    const results = await runChecks(
      PLAN,
      fakeHost(() => ({ Status: "exited", ExitCode: 1 })),
    );
    expect(results.find((r) => r.name === "occ job")).toMatchObject({
      ok: false,
      detail: expect.stringContaining("occ-job: step ldap: FAILED (exit 1)"),
    });
  });

  it("checks again until a running job has exited, then stops", async () => {
    let rounds = 0;
    let clock = 0;
    const retries: string[] = [];
    const results = await smoke(
      PLAN,
      fakeHost(() => (++rounds < 3 ? { Status: "running", ExitCode: 0 } : { Status: "exited", ExitCode: 0 })),
      {
        waitSeconds: 600,
        intervalSeconds: 10,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
        onRetry: (failing) => retries.push(failing.map((r) => r.detail).join()),
      },
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(rounds).toBe(3);
    expect(retries).toEqual([expect.stringMatching(/^still running/), expect.stringMatching(/^still running/)]);
  });

  it("gives up when the wait is over and returns the failures of the last round", async () => {
    let clock = 0;
    const results = await smoke(
      PLAN,
      fakeHost(() => ({ Status: "running", ExitCode: 0 })),
      {
        waitSeconds: 30,
        intervalSeconds: 10,
        now: () => clock,
        sleep: async (ms) => void (clock += ms),
      },
    );
    expect(results.filter((r) => !r.ok).map((r) => r.name)).toEqual(["occ job"]);
    expect(clock).toBe(30_000);
  });

  it("runs once with no wait", async () => {
    let rounds = 0;
    await smoke(
      PLAN,
      fakeHost(() => (rounds++, { Status: "running", ExitCode: 0 })),
      { waitSeconds: 0, intervalSeconds: 10, sleep: async () => undefined },
    );
    expect(rounds).toBe(1);
  });
});
