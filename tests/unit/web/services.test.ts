import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_IMAGE as COLLABORA_IMAGE } from "../../../services/collabora/settings";
import { PROXY_IMAGE } from "../../../services/proxy/settings";
import { DEFAULT_IMAGE as MATTERMOST_IMAGE } from "../../../services/mattermost/settings";
import { DEFAULT_IMAGE as NEXTCLOUD_IMAGE } from "../../../services/nextcloud/settings";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf, renderVariant } from "../../helpers/rendered";

describe("web services as rendered for pica01", () => {
  let stack: RenderedStack;

  beforeAll(async () => {
    stack = await renderStack("pica01");
  });

  it("serves each application on its own URL through the proxy", () => {
    expect(stack.routes.filter((r) => r.container !== "proxy")).toEqual([
      { url: "https://chat.picasoft.example.org", container: "mattermost" },
      { url: "https://cloud.compiegne-en-transition.example.org", container: "nextcloud-transition" },
      { url: "https://cloud.picasoft.example.org", container: "nextcloud-asso" },
      { url: "https://office.picasoft.example.org", container: "collabora" },
    ]);
    expect(containerOf(stack, "mattermost").labels["traefik.http.services.mattermost.loadbalancer.server.port"]).toBe("8065");
    expect(containerOf(stack, "collabora").labels["traefik.http.services.collabora.loadbalancer.server.port"]).toBe("9980");
    expect(containerOf(stack, "nextcloud-asso").labels["traefik.http.services.nextcloud-asso.loadbalancer.server.port"]).toBe("80");
  });

  it("runs the pinned images by default", () => {
    expect(containerOf(stack, "mattermost").image).toBe(MATTERMOST_IMAGE);
    expect(containerOf(stack, "collabora").image).toBe(COLLABORA_IMAGE);
    for (const name of ["nextcloud-asso", "nextcloud-asso-cron", "nextcloud-transition"])
      expect(containerOf(stack, name).image).toBe(NEXTCLOUD_IMAGE);
    // Our PostgreSQL image (platform/postgres/image), pinned like our other images.
    expect(containerOf(stack, "mattermost-db").image).toMatch(/\/infra\/postgres:\w+@sha256:[a-f0-9]{64}$/);
  });

  it("runs Mattermost as the image's user with its state on volumes and its site URL", () => {
    const mattermost = containerOf(stack, "mattermost");
    expect(mattermost.user).toBe("2000:2000");
    expect(mattermost.volumes.map((v) => `${v.source}:${v.target}`)).toEqual([
      "mattermost-data:/mattermost/data",
      "mattermost-config:/mattermost/config",
      "mattermost-logs:/mattermost/logs",
      "mattermost-plugins:/mattermost/plugins",
      "mattermost-client-plugins:/mattermost/client/plugins",
    ]);
    expect(mattermost.env.MM_SERVICESETTINGS_SITEURL).toBe("https://chat.picasoft.example.org");
    expect(mattermost.networks).toEqual(["edge", "mattermost"]);
  });

  it("sets up every Nextcloud for the proxy so that logins do not loop", () => {
    for (const [tenant, domain] of [
      ["asso", "cloud.picasoft.example.org"],
      ["transition", "cloud.compiegne-en-transition.example.org"],
    ]) {
      expect(containerOf(stack, `nextcloud-${tenant}`).env).toMatchObject({
        NEXTCLOUD_TRUSTED_DOMAINS: `${domain} nextcloud-${tenant}`,
        OVERWRITEHOST: domain,
        OVERWRITEPROTOCOL: "https",
        OVERWRITECLIURL: `https://${domain}`,
        TRUSTED_PROXIES: "172.16.0.0/12 192.168.0.0/16",
        POSTGRES_HOST: `nextcloud-${tenant}-db`,
      });
      // Redis lives in config.php (set by the occ job), not in the environment the entrypoint reads.
      expect(containerOf(stack, new RegExp(`^nextcloud-${tenant}-occ-`)).env).toMatchObject({
        OCC_REDIS_HOST: `nextcloud-${tenant}-redis`,
        OCC_REDIS_PORT: "6379",
      });
    }
  });

  it("gives each tenant its own internal network, shared only by its app, cron, job, database and Redis (and the backup's dump, the database exporters)", () => {
    for (const tenant of ["asso", "transition"]) {
      const members = stack.containers
        .filter((c) => c.networks.includes(`nextcloud-${tenant}`))
        .map((c) => c.name.replace(/-occ-.*/, "-occ"));
      expect(members).toEqual([
        // pica01's database exporters, reaching the tenant's database and Redis (monitoring/database-exporters.ts).
        "agent-postgres",
        "agent-redis",
        // pg_dump of the tenant's database (backup/component.ts).
        "backup",
        `nextcloud-${tenant}`,
        `nextcloud-${tenant}-cron`,
        `nextcloud-${tenant}-db`,
        `nextcloud-${tenant}-occ`,
        `nextcloud-${tenant}-redis`,
      ]);
    }
  });

  it("runs cron from the image's /cron.sh on the app's volumes, with only the capabilities crond needs", () => {
    const app = containerOf(stack, "nextcloud-asso");
    const cron = containerOf(stack, "nextcloud-asso-cron");
    expect(cron.entrypoint).toEqual(["/cron.sh"]);
    expect(cron.volumes).toEqual(app.volumes);
    expect(cron.capAdd).toEqual(["SETGID", "SETUID"]);
    expect(cron.labels["infra.cap.SETUID"]).toMatch(/crond/);
    expect(stack.routes.filter((r) => r.container === cron.name)).toEqual([]);
  });

  it("applies quota, admin email and Collabora settings with a one-shot occ job per tenant", () => {
    const job = containerOf(stack, /^nextcloud-transition-occ-/);
    expect(job.role).toBe("job");
    expect(job.restart).toBe("no");
    expect(job.user).toBe("www-data");
    expect(job.volumes).toEqual(containerOf(stack, "nextcloud-transition").volumes);
    expect(job.env).toMatchObject({
      OCC_ADMIN_EMAIL: "admin@compiegne-en-transition.example.org",
      OCC_DEFAULT_QUOTA: "5 GB",
      OCC_WOPI_URL: "http://collabora:9980",
      OCC_PUBLIC_WOPI_URL: "https://office.picasoft.example.org",
      OCC_WOPI_CALLBACK_URL: "https://cloud.compiegne-en-transition.example.org",
      OCC_WOPI_ALLOWLIST: "172.16.0.0/12,192.168.0.0/16",
      OCC_TRUSTED_DOMAINS: "cloud.compiegne-en-transition.example.org nextcloud-transition",
    });
    // A partner's instance never logs in against the association's directory.
    expect(Object.keys(job.env).filter((key) => key.startsWith("OCC_LDAP_"))).toEqual([]);
  });

  it("logs the association's members in against the directory on pica02 with the read-only nextcloud account", () => {
    const job = containerOf(stack, /^nextcloud-asso-occ-/);
    expect(job.env).toMatchObject({
      OCC_LDAP_URL: "ldaps://ldap.picasoft.example.org",
      OCC_LDAP_PORT: "636",
      OCC_LDAP_BASE_DN: "dc=picasoft,dc=example,dc=org",
      OCC_LDAP_BIND_DN: "cn=nextcloud,ou=services,dc=picasoft,dc=example,dc=org",
    });
    expect(Object.keys(job.secrets)).toContain("OCC_LDAP_BIND_PASSWORD");
  });

  it("runs Collabora with no added capability, TLS terminated at the proxy and one alias group per tenant", () => {
    const collabora = containerOf(stack, "collabora");
    expect(collabora.capAdd).toEqual([]);
    expect(collabora.privileged).toBe(false);
    expect(collabora.noNewPrivileges).toBe(true);
    expect(collabora.env.extra_params.split(" ")).toEqual(
      expect.arrayContaining([
        "--o:ssl.enable=false",
        "--o:ssl.termination=true",
        "--o:mount_jail_tree=false",
        "--o:security.capabilities=false",
      ]),
    );
    expect(Object.entries(collabora.env).filter(([key]) => key.startsWith("aliasgroup"))).toEqual([
      ["aliasgroup1", "https://cloud.picasoft.example.org:443,http://nextcloud-asso:80"],
      ["aliasgroup2", "https://cloud.compiegne-en-transition.example.org:443,http://nextcloud-transition:80"],
    ]);
    expect(collabora.env.server_name).toBe("office.picasoft.example.org");
  });
});

describe("the occ settings job re-runs when, and only when, its tenant's settings change", () => {
  const jobs = (stack: RenderedStack) =>
    stack.containers
      .filter((c) => c.role === "job" && c.service === "nextcloud")
      .map((c) => c.name)
      .sort();

  it("keeps the same jobs when the stack is rendered again", async () => {
    expect(jobs(await renderStack("pica01"))).toEqual(jobs(await renderStack("pica01")));
  });

  it("replaces only the partner's job when its quota changes", async () => {
    const before = jobs(await renderStack("pica01"));
    const after = jobs(await renderVariant("pica01", (c) => (c["infra:partners"][0].defaultQuota = "20 GB")));
    expect(after.filter((name) => !before.includes(name))).toEqual([expect.stringMatching(/^nextcloud-transition-occ-[0-9a-f]{10}$/)]);
    expect(before.filter((name) => !after.includes(name))).toEqual([expect.stringMatching(/^nextcloud-transition-occ-/)]);
  });

  it("replaces only the association's job when its admin email changes", async () => {
    const before = jobs(await renderStack("pica01"));
    const after = jobs(await renderVariant("pica01", (c) => (c["infra:services"].nextcloud.adminEmail = "admins@picasoft.example.org")));
    expect(after.filter((name) => !before.includes(name))).toEqual([expect.stringMatching(/^nextcloud-asso-occ-/)]);
  });

  it("configures no Collabora in Nextcloud on a host without Collabora", async () => {
    const stack = await renderVariant("pica01", (c) => delete c["infra:services"].collabora);
    const job = containerOf(stack, /^nextcloud-asso-occ-/);
    expect(Object.keys(job.env).filter((key) => key.includes("WOPI"))).toEqual([]);
    expect(stack.containers.some((c) => c.service === "collabora")).toBe(false);
  });
});

describe("proxy image", () => {
  it("is Traefik 3.6.1 or later, which speaks to Docker Engine 29 (earlier ones fall back to API 1.24, refused)", () => {
    const [major, minor, patch] = /^traefik:v(\d+)\.(\d+)\.(\d+)/.exec(PROXY_IMAGE)!.slice(1).map(Number);
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(3_006_001);
  });
});

describe("calls from inside a host to its own public names", () => {
  it("local: the proxy answers on the edge network to every routed name (Collabora calling a tenant back)", async () => {
    const rendered = await renderStack("local");
    const routed = [...new Set(rendered.routes.map((route) => new URL(route.url).hostname))].sort();
    expect(containerOf(rendered, "proxy").aliases.edge).toEqual(routed);
  });

  it("pica01: public DNS does that, and the proxy's inputs do not depend on the partners", async () => {
    expect(containerOf(await renderStack("pica01"), "proxy").aliases.edge).toEqual([]);
  });

  it("Collabora skips certificate checks on its callbacks only where the proxy's certificate is self-signed", async () => {
    const params = async (stack: string) => containerOf(await renderStack(stack), "collabora").env.extra_params;
    expect(await params("local")).toContain("--o:ssl.ssl_verification=false");
    expect(await params("pica01")).not.toContain("ssl_verification");
  });
});
