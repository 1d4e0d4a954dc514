import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LDAP_USER } from "../../../ldap/component";
import { LdapService } from "../../../ldap/settings";
import { VMAIL_USER } from "../../../mail/component";
import { MailService } from "../../../mail/settings";
import { ACME_IMAGE } from "../../../platform/acme-certificate";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import { containerOf, renderVariant } from "../../helpers/rendered";

/**
 * The certificates of the directory and the mail server in the rendered stacks: in production one ACME
 * container each (platform/acme-certificate.ts) writes into the volume the daemon reads; on local the
 * daemons make their own. The integration scenarios (tests/integration/acme) run the same containers.
 */

const REPO_ROOT = path.resolve(__dirname, "../../..");
let local: RenderedStack;
let pica02: RenderedStack;
beforeAll(async () => {
  local = await renderStack("local");
  pica02 = await renderStack("pica02");
});

const ACME = [
  {
    name: "ldap-acme",
    service: "ldap",
    domain: "ldap.picasoft.example.org",
    volume: "ldap-tls",
    daemons: { ldap: "/etc/ldap/tls" },
    owner: LDAP_USER,
  },
  {
    name: "mail-acme",
    service: "mail",
    domain: "mail.picasoft.example.org",
    volume: "mail-tls",
    daemons: { "mail-postfix": "/tls", "mail-dovecot": "/tls" },
    owner: VMAIL_USER,
  },
];

describe("ACME certificates in the rendered stacks", () => {
  it.each(ACME)(
    "$name obtains $domain from Let's Encrypt through OVH's DNS API, for its daemons' volume",
    ({ name, service, domain, volume, daemons, owner }) => {
      const acme = containerOf(pica02, name);
      expect(acme.service).toBe(service);
      expect(acme.env).toMatchObject({
        ACME_DOMAINS: domain,
        ACME_EMAIL: "tech@picasoft.example.org",
        ACME_SERVER: "https://acme-v02.api.letsencrypt.org/directory",
        ACME_RENEW_DAYS: "30",
        ACME_DNS_PROVIDER: "ovh",
        ACME_DNS_COMPLETE_PROPAGATION: "true",
        OVH_ENDPOINT: "ovh-eu",
        TLS_OWNER: `${owner.uid}:${owner.gid}`,
      });
      expect(acme.volumes).toEqual([
        { source: name, target: "/var/lib/acme", readOnly: false, kind: "volume" },
        { source: volume, target: "/tls", readOnly: false, kind: "volume" },
        // Its secret files, written by its carrier: the read-only root filesystem refuses uploads (platform/container.ts).
        { source: `${name}-secrets`, target: "/run/secrets", readOnly: true, kind: "volume" },
      ]);
      for (const [daemon, target] of Object.entries(daemons)) {
        expect(containerOf(pica02, daemon).volumes.find((v) => v.target === target)?.source).toBe(volume);
      }
    },
  );

  it.each(ACME)("$name passes the registrar's credentials as secret files only, as lego's <VAR>_FILE", ({ name }) => {
    const acme = containerOf(pica02, name);
    const keys = ["OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY"];
    expect(Object.keys(acme.secrets).sort()).toEqual(keys);
    for (const key of keys) {
      expect(pica02.secrets).toContain(acme.secrets[key]);
      expect(acme.env[`${key}_FILE`]).toBe(`/run/secrets/${key}`);
    }
    expect(acme.secretEnv).toEqual([]);
  });

  it.each(ACME)("$name keeps the hardening defaults; root with CHOWN alone, with its reason; egress on its own network", ({ name }) => {
    const acme = containerOf(pica02, name);
    expect(acme).toMatchObject({
      user: "root",
      readOnly: true,
      privileged: false,
      noNewPrivileges: true,
      capDrop: ["ALL"],
      capAdd: ["CHOWN"],
      restart: "unless-stopped",
      ports: [],
    });
    expect(acme.labels["infra.cap.CHOWN"]).toMatch(/tls\.crt and tls\.key/);
    expect(acme.networks).toEqual([name]);
    expect(pica02.networks).toContainEqual({ name, internal: false });
    expect(acme.healthcheckSpec?.test).toEqual(["CMD", "/usr/local/bin/acme-certificate", "check"]);
    expect(acme.image).toMatch(/^registry\.gitlab\.example\.org\/asso\/infra\/acme:[^@]+@sha256:[a-f0-9]{64}$/);
  });

  it("writes for the daemons' users as the images define them (openldap 100:101, vmail 5000:5000)", () => {
    const ldapDockerfile = fs.readFileSync(path.join(REPO_ROOT, "ldap/image/Dockerfile"), "utf8");
    expect(ldapDockerfile).toContain(`groupadd --system --gid ${LDAP_USER.gid} openldap;`);
    expect(ldapDockerfile).toContain(`useradd --system --uid ${LDAP_USER.uid} --gid openldap`);
    const dovecotDockerfile = fs.readFileSync(path.join(REPO_ROOT, "mail/dovecot/Dockerfile"), "utf8");
    expect(dovecotDockerfile).toContain(`groupadd --system --gid ${VMAIL_USER.gid} vmail`);
    expect(dovecotDockerfile).toContain(`useradd --system --uid ${VMAIL_USER.uid} --gid ${VMAIL_USER.gid}`);
  });

  it("makes slapd wait for the certificate in production, and make its own on local", () => {
    expect(containerOf(pica02, "ldap").env.LDAP_TLS_SELF_SIGNED).toBe("false");
    expect(containerOf(local, "ldap").env.LDAP_TLS_SELF_SIGNED).toBe("true");
    expect(containerOf(pica02, "mail-dovecot").env.TLS_MODE).toBe("acme");
    expect(containerOf(local, "mail-dovecot").env.TLS_MODE).toBe("self-signed");
  });

  it("runs no ACME container on local, where nothing has a public name to prove", () => {
    expect(local.containers.map((c) => c.name).filter((name) => name.endsWith("-acme"))).toEqual([]);
  });

  it("is one of our images: declared by the services that run it (so production pins it), built from its folder on local", async () => {
    expect(LdapService.ownImages).toContain(ACME_IMAGE.name);
    expect(MailService.ownImages).toContain(ACME_IMAGE.name);
    expect(fs.existsSync(path.join(REPO_ROOT, ACME_IMAGE.context, "Dockerfile"))).toBe(true);
    const withAcme = await renderVariant("local", (c) => {
      c["infra:acmeEmail"] = "tech@asso.localhost";
      c["infra:acme"] = { dns: { provider: "httpreq", env: { HTTPREQ_ENDPOINT: "http://192.0.2.1:8080" } } };
      c["infra:services"].ldap.tls = "acme";
    });
    expect(containerOf(withAcme, "ldap-acme").image).toBe("infra/acme:local");
    expect(withAcme.images.find((i) => i.ref === "infra/acme:local")?.build).toEqual({
      context: ACME_IMAGE.context,
      buildArgs: { BASE_IMAGE: "debian:bookworm-slim" },
    });
  });

  it("passes a test ACME server's CA, resolvers and propagation choice to lego", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    const rendered = await renderVariant("local", (c) => {
      c["infra:acmeEmail"] = "tech@asso.localhost";
      c["infra:acme"] = {
        server: "https://192.0.2.1:14000/dir",
        serverCa: ca,
        renewDaysBefore: 10,
        dns: {
          provider: "httpreq",
          env: { HTTPREQ_ENDPOINT: "http://192.0.2.1:8080" },
          resolvers: ["192.0.2.1:8053"],
          completePropagation: false,
        },
      };
      c["infra:services"].mail.tls = { source: "acme" };
    });
    expect(containerOf(rendered, "mail-acme").env).toMatchObject({
      ACME_SERVER: "https://192.0.2.1:14000/dir",
      ACME_SERVER_CA: ca,
      ACME_RENEW_DAYS: "10",
      ACME_DNS_RESOLVERS: "192.0.2.1:8053",
      ACME_DNS_COMPLETE_PROPAGATION: "false",
      HTTPREQ_ENDPOINT: "http://192.0.2.1:8080",
      ACME_DOMAINS: "mail.asso.localhost",
    });
    expect(rendered.containers.map((c) => c.name)).not.toContain("ldap-acme");
  });

  it("tells the daemons how often to look for a renewed certificate, under the variable each image reads", async () => {
    const rendered = await renderVariant("local", (c) => {
      c["infra:acmeEmail"] = "tech@asso.localhost";
      c["infra:acme"] = { reloadCheckSeconds: 5, dns: { provider: "httpreq", env: { HTTPREQ_ENDPOINT: "http://192.0.2.1:8080" } } };
      c["infra:services"].ldap.tls = "acme";
      c["infra:services"].mail.tls = { source: "acme" };
    });
    expect(containerOf(rendered, "ldap").env.LDAP_CERT_WATCH_SECONDS).toBe("5");
    expect(containerOf(rendered, "mail-postfix").env.CERT_WATCH_SECONDS).toBe("5");
    expect(containerOf(rendered, "mail-dovecot").env.CERT_WATCH_SECONDS).toBe("5");
    // Without ACME nothing renews the certificate: the images' default stands.
    const local = await renderStack("local");
    expect(containerOf(local, "ldap").env).not.toHaveProperty("LDAP_CERT_WATCH_SECONDS");
    expect(containerOf(local, "mail-dovecot").env).not.toHaveProperty("CERT_WATCH_SECONDS");
  });
});
