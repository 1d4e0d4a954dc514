import { beforeAll, describe, expect, it } from "vitest";
import {
  collaboraFrameAncestors,
  containerProblems,
  durationToSeconds,
  PROXY_UPLOAD_SECONDS,
  richdocumentsWopiSrc,
} from "../../../platform/upstream-images";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { cspAllowsFrameAncestor } from "../../../stacks/smoke-checks";
import { containerOf } from "../../helpers/rendered";
import { underCheck } from "./under-check";

const CONTAINER = "docker:index/container:Container";

/**
 * The five defects of issue 19, each read against the upstream sources (platform/upstream-images.ts),
 * on the stacks that run the web services. Each test failed on the code before the fix.
 */
describe.each(["pica01", "local"])("web services of %s, as their upstream images run them", (name) => {
  let stack: RenderedStack;
  const tenants = () =>
    stack.containers.filter((c) => c.service === "nextcloud" && c.role === "app" && stack.routes.some((r) => r.container === c.name));
  const inputs = (container: string) => stack.resources.find((r) => r.type === CONTAINER && r.name === container)!.inputs;

  beforeAll(async () => {
    stack = await renderStack(name);
  });

  it("1: starts every Nextcloud's entrypoint as www-data with no variable that makes it write a root-owned file", () => {
    expect(tenants().length).toBe(2);
    for (const app of tenants()) {
      expect(app.user, app.name).toBe("www-data");
      expect(app.entrypoint, app.name).toEqual([]);
      expect(containerProblems(underCheck(stack, app)), app.name).toEqual([]);
      expect(Object.keys(app.env), app.name).not.toContain("APACHE_DISABLE_REWRITE_IP");
    }
  });

  it("1: keeps Redis out of every tenant container's environment and puts it in config.php through the occ job", () => {
    for (const app of tenants()) {
      const family = stack.containers.filter((c) => c.name.startsWith(`${app.name}-`) && c.service === "nextcloud");
      for (const c of [app, ...family])
        expect(
          Object.keys(c.env).filter((key) => key.startsWith("REDIS_HOST")),
          c.name,
        ).toEqual([]);
      const job = containerOf(stack, new RegExp(`^${app.name}-occ-`));
      expect(job.env.OCC_REDIS_HOST).toBe(`${app.name}-redis`);
      expect(job.secrets.OCC_REDIS_PASSWORD).toBe(containerOf(stack, `${app.name}-redis`).secrets.REDIS_PASSWORD);
    }
  });

  it("2: lets every tenant's page frame Nextcloud Office (the WOPISrc is on the tenant's public host)", () => {
    const collabora = containerOf(stack, "collabora");
    const office = stack.routes.find((r) => r.container === "collabora")!.url;
    for (const app of tenants()) {
      const tenantUrl = stack.routes.find((r) => r.container === app.name)!.url;
      const job = containerOf(stack, new RegExp(`^${app.name}-occ-`));
      const wopiSrc = richdocumentsWopiSrc(job.env.OCC_WOPI_CALLBACK_URL, "42_instance");
      const ancestors = collaboraFrameAncestors({ serverHost: collabora.env.server_name, wopiSrc });
      expect(
        cspAllowsFrameAncestor(`default-src 'none'; frame-ancestors ${ancestors.join(" ")}`, tenantUrl, office),
        `${app.name}: ${ancestors.join(" ")}`,
      ).toBe(true);
      // ...and Collabora accepts that WOPISrc's host (it is in the tenant's alias group).
      const group = Object.entries(collabora.env).find(
        ([key, value]) => key.startsWith("aliasgroup") && value.startsWith(`${tenantUrl}:443,`),
      );
      expect(group, app.name).toBeDefined();
    }
  });

  it("3: lets uploads through the proxy take up to an hour (Traefik reads a request within 60 s by default)", () => {
    const flag = containerOf(stack, "proxy").command.find((arg) =>
      arg.startsWith("--entrypoints.websecure.transport.respondingTimeouts.readTimeout="),
    );
    expect(flag).toBeDefined();
    expect(durationToSeconds(flag!.split("=")[1])).toBeGreaterThanOrEqual(PROXY_UPLOAD_SECONDS);
  });

  it("4: gives every occ job a deadline", () => {
    for (const app of tenants()) {
      const job = containerOf(stack, new RegExp(`^${app.name}-occ-`));
      expect(Number(job.env.OCC_DEADLINE_SECONDS), job.name).toBeGreaterThan(0);
    }
  });

  it("5: gives PostgreSQL 90 s and Collabora 60 s to stop, for docker stop and for Pulumi's replacements alike", () => {
    // PostgreSQL's: other services' stores (monitoring's VictoriaMetrics) are databases too.
    const databases = stack.containers.filter((c) => c.role === "database" && c.image.includes("postgres"));
    expect(databases.length).toBe(3);
    for (const [container, seconds] of [...databases.map((c) => [c.name, 90] as const), ["collabora", 60] as const]) {
      expect(inputs(container).stopTimeout, container).toBeGreaterThanOrEqual(seconds);
      expect(inputs(container).destroyGraceSeconds, container).toBeGreaterThanOrEqual(seconds);
    }
  });

  it("5: bounds every Redis below its container's memory limit, evicting least recently used keys", () => {
    const caches = stack.containers.filter((c) => c.role === "cache");
    expect(caches.length).toBe(2);
    for (const redis of caches) {
      const maxmemory = Number(/--maxmemory (\d+)mb/.exec(redis.command.join(" "))?.[1]);
      expect(maxmemory, redis.name).toBeGreaterThan(0);
      expect(maxmemory, redis.name).toBeLessThan(redis.memoryMb);
      expect(redis.command.join(" "), redis.name).toContain("--maxmemory-policy allkeys-lru");
    }
  });
});
