import { beforeAll, describe, expect, it } from "vitest";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf, diffResources, renderVariant } from "../../helpers/rendered";

const CONTAINER = "docker:index/container:Container";

const ANOTHER_PARTNER = {
  id: "ressourcerie",
  name: "La Ressourcerie",
  domain: "cloud.ressourcerie.example.org",
  adminEmail: "admin@ressourcerie.example.org",
  defaultQuota: "2 GB",
};

/**
 * Offering Nextcloud to one more association is one entry in `infra:partners`, and must not disturb
 * anything already running. "Not disturb" is checked on the rendered resources, matched by type+name:
 * the new tenant's resources appear, and the only existing resource whose inputs change is the
 * Collabora container (its environment gains the new tenant's alias group).
 */
/**
 * What a partner's arrival or departure changes besides its own resources: Collabora (its alias group), the
 * backup (its database and files), the monitoring agent (its containers, database and Redis), and the
 * secrets carriers of the last two (platform/container.ts: the partner's passwords are among their files).
 */
const CHANGED_BY_A_PARTNER = [
  `${CONTAINER}::agent-containers`,
  `${CONTAINER}::agent-postgres`,
  `${CONTAINER}::agent-redis`,
  `${CONTAINER}::agent-redis-secrets`,
  `${CONTAINER}::backup`,
  `${CONTAINER}::backup-secrets`,
  `${CONTAINER}::collabora`,
];

describe("adding and removing a partner association (pica01)", () => {
  let base: RenderedStack;
  let withPartner: RenderedStack;
  let withoutPartners: RenderedStack;

  beforeAll(async () => {
    base = await renderStack("pica01");
    withPartner = await renderVariant("pica01", (c) => c["infra:partners"].push(ANOTHER_PARTNER));
    withoutPartners = await renderVariant("pica01", (c) => (c["infra:partners"] = []));
  });

  it("adds exactly the new tenant's Nextcloud, database, Redis, cron, settings job, network and volumes", () => {
    const { added, removed } = diffResources(base, withPartner);
    expect(removed).toEqual([]);
    // Every added resource belongs to the new tenant (its names all carry the tenant id)...
    expect(added.filter((key) => !key.includes("nextcloud-ressourcerie"))).toEqual([]);
    // ...and the tenant is complete.
    const containers = added.filter((key) => key.startsWith(`${CONTAINER}::`)).map((key) => key.split("::")[1]);
    expect(containers.map((name) => name.replace(/-occ-[0-9a-f]{10}$/, "-occ-<hash>"))).toEqual([
      "nextcloud-ressourcerie",
      "nextcloud-ressourcerie-cron",
      "nextcloud-ressourcerie-db",
      "nextcloud-ressourcerie-occ-<hash>",
      "nextcloud-ressourcerie-redis",
      "nextcloud-ressourcerie-redis-secrets",
    ]);
    expect(added).toContain("docker:index/network:Network::network-nextcloud-ressourcerie");
    expect(added).toEqual(
      expect.arrayContaining([
        "docker:index/volume:Volume::volume-nextcloud-ressourcerie-html",
        "docker:index/volume:Volume::volume-nextcloud-ressourcerie-data",
        "docker:index/volume:Volume::volume-nextcloud-ressourcerie-db-data",
      ]),
    );
  });

  it("changes no input of any existing resource except the Collabora container, the backup (which dumps and copies the new tenant too) and the monitoring agent (which watches its containers and scrapes its database and Redis too)", () => {
    expect(diffResources(base, withPartner).changed).toEqual(CHANGED_BY_A_PARTNER);
    const watched = (stack: RenderedStack) => JSON.stringify(containerOf(stack, "agent-containers"));
    expect(watched(withPartner)).toContain("nextcloud-ressourcerie");
    expect(watched(base)).not.toContain("nextcloud-ressourcerie");
  });

  it("gives Collabora exactly one more alias group, for the new tenant, and changes nothing else in it", () => {
    const before = containerOf(base, "collabora");
    const after = containerOf(withPartner, "collabora");
    const { env: envBefore, ...restBefore } = before;
    const { env: envAfter, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    const { aliasgroup3, ...otherEnv } = envAfter;
    expect(otherEnv).toEqual(envBefore);
    expect(aliasgroup3).toBe("https://cloud.ressourcerie.example.org:443,http://nextcloud-ressourcerie:80");
  });

  it("routes the new tenant's domain to its Nextcloud and lists its A record", () => {
    const newRoutes = withPartner.routes.filter((r) => !base.routes.some((b) => b.url === r.url));
    expect(newRoutes).toEqual([{ url: "https://cloud.ressourcerie.example.org", container: "nextcloud-ressourcerie" }]);
    expect(withPartner.dns).toContainEqual({ name: "cloud.ressourcerie.example.org", type: "A", value: "203.0.113.11" });
  });

  it("allows the new tenant's WOPI requests from the edge network only, in its own settings job", () => {
    const job = containerOf(withPartner, /^nextcloud-ressourcerie-occ-/);
    expect(job.env.OCC_WOPI_ALLOWLIST).toBe("172.16.0.0/12,192.168.0.0/16");
    expect(job.env.OCC_WOPI_CALLBACK_URL).toBe("https://cloud.ressourcerie.example.org");
    expect(job.env.OCC_DEFAULT_QUOTA).toBe("2 GB");
    expect(job.env.OCC_ADMIN_EMAIL).toBe("admin@ressourcerie.example.org");
  });

  it("removes exactly the partner's resources when its entry is removed, and changes only Collabora, the backup and the monitoring agent", () => {
    const { added, removed, changed } = diffResources(base, withoutPartners);
    expect(added).toEqual([]);
    expect(removed.length).toBeGreaterThan(0);
    expect(removed.filter((key) => !key.includes("nextcloud-transition"))).toEqual([]);
    expect(base.resources.filter((r) => r.name.includes("nextcloud-transition")).length).toBe(removed.length);
    expect(changed).toEqual(CHANGED_BY_A_PARTNER);
    expect(Object.keys(containerOf(withoutPartners, "collabora").env).filter((k) => k.startsWith("aliasgroup"))).toEqual(["aliasgroup1"]);
  });

  it("keeps the partner's data volumes on removal (Pulumi forgets them, Docker keeps them)", () => {
    const all = base.resources.filter((r) => r.type === "docker:index/volume:Volume" && r.name.includes("nextcloud-transition"));
    // Its Redis's secret files (a read-only container: platform/container.ts) go with it; its data stays.
    const [secrets, volumes] = [all.filter((v) => v.name.endsWith("-secrets")), all.filter((v) => !v.name.endsWith("-secrets"))];
    expect(secrets.map((v) => [v.inputs.name, v.options.retainOnDelete])).toEqual([["nextcloud-transition-redis-secrets", false]]);
    expect(volumes.length).toBe(3);
    expect(volumes.every((v) => v.options.retainOnDelete)).toBe(true);
  });
});
