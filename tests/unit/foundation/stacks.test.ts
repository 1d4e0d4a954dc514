import { describe, expect, it } from "vitest";
import { checkStack } from "../../../policy/rules";
import { listStacks, renderStack } from "../../../stacks/render";

const stacks = listStacks();

describe("every stack", () => {
  it("has the three hosts of the project", () => {
    expect(stacks).toEqual(expect.arrayContaining(["local", "pica01", "pica02"]));
  });

  describe.each(stacks)("%s", (stack) => {
    it("renders and runs a proxy", async () => {
      const rendered = await renderStack(stack);
      expect(rendered.containers.map((c) => c.name)).toContain("proxy");
    });

    it("breaks none of the hardening policies", async () => {
      const rendered = await renderStack(stack);
      expect(checkStack(rendered.resources)).toEqual([]);
    });

    it("applies the container defaults to every container", async () => {
      const rendered = await renderStack(stack);
      for (const c of rendered.containers) {
        expect(c, c.name).toMatchObject({ privileged: false, noNewPrivileges: true, capDrop: ["ALL"], healthcheck: true });
        expect(c.memoryMb, c.name).toBeGreaterThan(0);
        expect(c.restart, c.name).toBe(c.role === "job" ? "no" : "unless-stopped");
        expect(
          c.capAdd.every((cap) => c.labels[`infra.cap.${cap}`]),
          `${c.name} justifies its capabilities`,
        ).toBe(true);
        expect(c.image, c.name).toMatch(/:[^:@/]+(@sha256:[a-f0-9]{64})?$/);
      }
    });

    it("publishes ports only for the proxy, mail, the directory and a monitoring agent, with a stated reason", async () => {
      const rendered = await renderStack(stack);
      for (const c of rendered.containers.filter((x) => x.ports.length > 0)) {
        expect(["proxy", "mail", "ldap", "agent"], c.name).toContain(c.service);
        expect(c.exceptions.publishPorts, c.name).toBeTruthy();
      }
    });

    it("keeps databases and caches on internal networks only", async () => {
      const rendered = await renderStack(stack);
      const internal = new Set(rendered.networks.filter((n) => n.internal).map((n) => n.name));
      for (const c of rendered.containers.filter((x) => x.role === "database" || x.role === "cache")) {
        expect(
          c.networks.every((n) => internal.has(n)),
          c.name,
        ).toBe(true);
        expect(c.ports, c.name).toEqual([]);
      }
    });

    it("stays within the host's memory budget", async () => {
      const rendered = await renderStack(stack);
      expect(rendered.memory.usedMb).toBeLessThanOrEqual(rendered.memory.budgetMb);
    });

    it("renders identical inputs twice, so that `pulumi up` shows no changes on a second run", async () => {
      const first = await renderStack(stack);
      const second = await renderStack(stack);
      expect(second.resources).toEqual(first.resources);
    });

    it("passes every generated credential as a secret", async () => {
      const rendered = await renderStack(stack);
      for (const c of rendered.containers) {
        for (const key of Object.keys(c.env).filter((k) => /PASSWORD|SECRET|TOKEN/.test(k) && !k.endsWith("_FILE"))) {
          expect(c.secretEnv, `${c.name} ${key}`).toContain(key);
        }
      }
    });
  });
});
