import { describe, expect, it } from "vitest";
import { renderStack } from "../../../stacks/render";

/** Every name a host serves resolves to it: what the first deployment's DNS step publishes (plan --format zone). */
describe.each(["pica01", "pica02"])("stack %s: address records", (stack) => {
  it("has an A record to the host for every name it serves: web routes, the mail host, the published directory", async () => {
    const rendered = await renderStack(stack);
    const ip = rendered.config.publicIpv4!;
    const served = [
      ...rendered.routes.map((route) => new URL(route.url).hostname),
      ...rendered.containers.filter((c) => c.name === "mail-postfix").map((c) => c.env.MAIL_HOSTNAME),
      ...(rendered.config.services.ldap?.publishLdaps ? [`ldap.${rendered.config.domain}`] : []),
    ];
    expect(served.length).toBeGreaterThan(0);
    const addresses = rendered.dns.filter((record) => record.type === "A");
    for (const name of served) expect(addresses, name).toContainEqual({ name, type: "A", value: ip });
  });
});

it("pica02 publishes the directory's name, which pica01's sssd connects to", async () => {
  const rendered = await renderStack("pica02");
  expect(rendered.dns).toContainEqual({ name: "ldap.picasoft.example.org", type: "A", value: "203.0.113.12" });
});
