import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mtaStsPolicyId } from "../../../mail/dns";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";

/** RFC 8461: the policy is fetched over HTTPS at mta-sts.<domain>; the proxy forwards to this container. */
describe.runIf(dockerAvailable())("MTA-STS policy server", () => {
  let stack: RunningStack;
  let url: string;

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["mail-mta-sts"] });
    url = `http://${await stack.ip("mail-mta-sts")}:8080/.well-known/mta-sts.txt`;
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("serves the policy of the stack as text/plain", async () => {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(stack.spec("mail-mta-sts").env.MTA_STS_POLICY);
  });

  it("serves the very policy whose id the _mta-sts record announces", async () => {
    const served = await (await fetch(url)).text();
    const record = stack.rendered.dns.find((r) => r.name === "_mta-sts.asso.localhost");
    expect(record?.value).toBe(`v=STSv1; id=${mtaStsPolicyId(served)}`);
  });

  it("serves nothing else", async () => {
    expect((await fetch(url.replace("mta-sts.txt", "other.txt"))).status).toBe(404);
  });

  it("runs as nobody on a read-only root filesystem", async () => {
    expect((await stack.exec("mail-mta-sts", ["id", "-un"])).stdout.trim()).toBe("nobody");
    expect((await stack.exec("mail-mta-sts", ["touch", "/usr/local/x"])).exitCode).not.toBe(0);
  });
});
