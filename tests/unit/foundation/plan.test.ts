import { describe, expect, it } from "vitest";
import { formatJson, formatMarkdown, formatText, SECRET, toPlan } from "../../../stacks/plan-format";
import { listStacks, renderStack } from "../../../stacks/render";
import { containerOf, renderVariant } from "../../helpers/rendered";

describe.each(listStacks())("plan of %s", (stack) => {
  it("prints the JSON contract of docs/contracts.md", async () => {
    const plan = JSON.parse(formatJson(toPlan(await renderStack(stack))));
    expect(Object.keys(plan)).toEqual(expect.arrayContaining(["stack", "resources", "containers", "networks", "volumes", "routes", "dns"]));
    expect(plan.stack).toBe(stack);
    for (const c of plan.containers) {
      expect(Object.keys(c)).toEqual(
        expect.arrayContaining([
          "name",
          "service",
          "image",
          "networks",
          "ports",
          "volumes",
          "env",
          "memoryMb",
          "restart",
          "healthcheck",
          "privileged",
          "noNewPrivileges",
          "capDrop",
          "capAdd",
          "readOnly",
          "user",
        ]),
      );
    }
  });

  it("never prints a secret value, in any format", async () => {
    const rendered = await renderStack(stack);
    const plan = toPlan(rendered);
    for (const output of [formatJson(plan), formatText(plan), formatMarkdown(plan)]) {
      for (const secret of rendered.secrets) expect(output).not.toContain(secret);
    }
    for (const c of plan.containers) {
      const spec = containerOf(rendered, c.name);
      for (const key of spec.secretEnv) expect(c.env[key], `${c.name} ${key}`).toBe(SECRET);
    }
  });

  it("shows the memory budget check", async () => {
    const plan = toPlan(await renderStack(stack));
    expect(formatText(plan)).toContain(`of ${plan.memory.budgetMb} MiB budget`);
  });

  it("draws a Mermaid diagram of containers, networks and routes in markdown", async () => {
    const plan = toPlan(await renderStack(stack));
    const markdown = formatMarkdown(plan);
    expect(markdown).toContain("```mermaid\nflowchart LR");
    for (const c of plan.containers) expect(markdown).toContain(`c_${c.name.replace(/[^A-Za-z0-9]/g, "_")}[`);
    for (const r of plan.routes) expect(markdown).toContain(`|${r.url.replace("https://", "")}|`);
  });
});

describe("memory budget", () => {
  it("is an error when the containers' limits exceed the host's budget", async () => {
    const plan = toPlan(await renderVariant("local", (c) => (c["infra:memoryBudgetMb"] = 64)));
    expect(plan.memory.withinBudget).toBe(false);
    expect(formatText(plan)).toContain(`ERROR: memory limits add up to ${plan.memory.usedMb} MiB, over the host budget of 64 MiB`);
  });
});
