import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { ACCOUNT_AUTH_PORT } from "../../../account/component";
import { USER_HEADER } from "../../../account/app/tech-auth";
import { PORTS } from "../../../monitoring/config";
import type { RenderedContainer, RenderedStack } from "../../../stacks/render";
import { renderStack } from "../../../stacks/render";
import { ConfigError } from "../../../stacks/schema";
import { containerOf, renderVariant } from "../../helpers/rendered";

/**
 * VictoriaMetrics' UI through the proxy, behind the account page's tech login: the Traefik labels on the
 * rendered plans (Traefik itself cannot be pulled here), the network the proxy reaches it on, its probe.
 */

const traefik = (c: RenderedContainer) => Object.fromEntries(Object.entries(c.labels).filter(([label]) => label.startsWith("traefik.")));
const LOGIN = "traefik.http.middlewares.monitoring-login.forwardauth";

function configFile(stack: RenderedStack, container: string, file: string): any {
  const found = containerOf(stack, container).files.find((f) => f.path.endsWith(`/${file}`));
  if (!found) throw new Error(`${container} has no ${file}`);
  return parse(found.content);
}

describe.each([
  ["local", "metrics.asso.localhost"],
  ["pica02", "metrics.picasoft.example.org"],
])("the metrics UI of %s", (stackName, host) => {
  let stack: RenderedStack;
  beforeAll(async () => {
    stack = await renderStack(stackName);
  });

  it(`routes https://${host} to VictoriaMetrics (vmui) through the tech login`, () => {
    const labels = traefik(containerOf(stack, "monitoring"));
    expect(labels).toMatchObject({
      "traefik.enable": "true",
      "traefik.http.routers.monitoring.rule": `Host(\`${host}\`)`,
      "traefik.http.routers.monitoring.entrypoints": "websecure",
      "traefik.http.routers.monitoring.middlewares": "monitoring-login",
      "traefik.http.services.monitoring.loadbalancer.server.port": String(PORTS.store),
      [`${LOGIN}.address`]: `http://account:${ACCOUNT_AUTH_PORT}/auth/tech`,
      [`${LOGIN}.trustForwardHeader`]: "true",
      [`${LOGIN}.authRequestHeaders`]: "Authorization",
      [`${LOGIN}.authResponseHeaders`]: USER_HEADER,
    });
    if (stackName === "pica02") expect(labels["traefik.http.routers.monitoring.tls.certresolver"]).toBe("letsencrypt");
    expect(stack.routes).toContainEqual({ url: `https://${host}`, container: "monitoring" });
  });

  it("points the login at the account container's unrouted port, on a network the proxy shares with it", () => {
    const address = new URL(containerOf(stack, "monitoring").labels[`${LOGIN}.address`]);
    const account = containerOf(stack, address.hostname);
    expect(account.service).toBe("account");
    expect(account.env.ACCOUNT_AUTH_PORT).toBe(address.port);
    // The page's public route goes to its other port: https://account.<domain>/auth/tech does not exist.
    expect(account.labels["traefik.http.services.account.loadbalancer.server.port"]).not.toBe(address.port);
    const proxy = containerOf(stack, "proxy");
    expect(account.networks.filter((n) => proxy.networks.includes(n))).toContain("edge");
  });

  it("keeps the store off the edge network: the proxy reaches it on an internal network only they join", () => {
    const store = containerOf(stack, "monitoring");
    expect(store.labels["traefik.docker.network"]).toBe("monitoring-ui");
    expect(store.networks).not.toContain("edge");
    expect(stack.networks).toContainEqual({ name: "monitoring-ui", internal: true });
    const members = stack.containers.filter((c) => c.networks.includes("monitoring-ui")).map((c) => c.name);
    expect(members.sort()).toEqual(["monitoring", "proxy"]);
  });

  it("probes the route for the login's refusal of a request without credentials (401, Basic), not for a 2xx", () => {
    const scrape = configFile(stack, "monitoring", "scrape.yml") as {
      scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[];
    };
    const probes = (scrape.scrape_configs.find((job) => job.job_name === "probe")?.static_configs ?? []).map((s) => s.labels);
    expect(probes.find((p) => p.probe === `https://${host}/`)).toMatchObject({ module: "https_login", service: "monitoring" });
    expect(probes.find((p) => p.probe.startsWith("https://account."))).toMatchObject({ module: "https" });
    const login = configFile(stack, "monitoring-blackbox", "blackbox.yml").modules.https_login.http;
    expect(login.valid_status_codes).toEqual([401]);
    expect(login.fail_if_header_not_matches).toEqual([{ header: "WWW-Authenticate", regexp: "^Basic ", allow_missing: false }]);
  });
});

describe("the metrics UI's settings", () => {
  it("is off with ui.enabled false: no route, no network for it, the proxy on edge only", async () => {
    const off = await renderVariant("local", (c) => (c["infra:services"].monitoring = { ui: { enabled: false } }));
    expect(traefik(containerOf(off, "monitoring"))).toEqual({});
    expect(off.networks.map((n) => n.name)).not.toContain("monitoring-ui");
    expect(containerOf(off, "proxy").networks).toEqual(["edge"]);
  });

  it("takes another host name from ui.hostname", async () => {
    const other = await renderVariant("local", (c) => (c["infra:services"].monitoring = { ui: { hostname: "graphs.asso.localhost" } }));
    expect(containerOf(other, "monitoring").labels["traefik.http.routers.monitoring.rule"]).toBe("Host(`graphs.asso.localhost`)");
  });

  it("is not served where the account page does not run", async () => {
    const without = await renderVariant("local", (c) => delete c["infra:services"].account);
    expect(traefik(containerOf(without, "monitoring"))).toEqual({});
  });

  it("refuses ui.enabled true on a host without the account page, naming the key path", async () => {
    const error = await renderVariant("local", (c) => {
      delete c["infra:services"].account;
      c["infra:services"].monitoring = { ui: { enabled: true } };
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toContain(
      "services.monitoring.ui.enabled: the metrics UI logs in through the account page's tech login, which this host does not run: enable services.account here, or remove ui.enabled",
    );
  });

  it("refuses a ui.hostname that is not a host name, naming the key path", async () => {
    const error = await renderVariant("local", (c) => (c["infra:services"].monitoring = { ui: { hostname: "not a name" } })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ConfigError).problems.join("\n")).toContain("services.monitoring.ui.hostname:");
  });
});
