import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { baseDnOf } from "../../../platform/directory";
import { LdapSettings } from "../../../ldap/settings";
import { renderStack, STACKS_DIR, type RenderedStack } from "../../../stacks/render";
import { containerOf, secretFilesOf } from "../../helpers/rendered";

let local: RenderedStack;
let pica02: RenderedStack;
beforeAll(async () => {
  local = await renderStack("local");
  pica02 = await renderStack("pica02");
});

const SECRET_ENV = [
  "LDAP_ADMIN_PASSWORD",
  "LDAP_SERVICE_PASSWORD_ACCOUNT",
  "LDAP_SERVICE_PASSWORD_HOSTS",
  "LDAP_SERVICE_PASSWORD_MAIL",
  "LDAP_SERVICE_PASSWORD_MATTERMOST",
  "LDAP_SERVICE_PASSWORD_MONITORING",
  "LDAP_SERVICE_PASSWORD_NEXTCLOUD",
];

describe("directory in the rendered stacks", () => {
  it("runs slapd and its daily job from our image, on the internal directory network only", () => {
    for (const stack of [local, pica02]) {
      const acme = stack === pica02 ? ["ldap-acme"] : [];
      expect(stack.containers.filter((c) => c.service === "ldap").map((c) => c.name)).toEqual(["ldap", ...acme, "ldap-daily"]);
      expect(stack.networks).toContainEqual({ name: "directory", internal: true });
      expect(containerOf(stack, "ldap-daily").networks).toEqual(["directory"]);
      expect(containerOf(stack, "ldap").aliases.directory).toEqual(["ldap", `ldap.${stack.config.domain}`]);
    }
    expect(containerOf(local, "ldap").image).toBe("infra/ldap:local");
    expect(local.images.find((i) => i.ref === "infra/ldap:local")?.build).toEqual({
      context: "ldap/image",
      buildArgs: { BASE_IMAGE: "debian:bookworm-slim" },
    });
  });

  it("keeps every hardening default: openldap user, read-only root, no capability", () => {
    for (const name of ["ldap", "ldap-daily"]) {
      const c = containerOf(local, name);
      expect(c).toMatchObject({
        user: "openldap",
        readOnly: true,
        privileged: false,
        noNewPrivileges: true,
        capDrop: ["ALL"],
        capAdd: [],
        healthcheck: true,
      });
    }
    expect(containerOf(local, "ldap").healthcheckSpec?.test).toEqual([
      "CMD",
      "ldapsearch",
      "-H",
      "ldapi:///",
      "-x",
      "-b",
      "",
      "-s",
      "base",
    ]);
    expect(containerOf(local, "ldap-daily")).toMatchObject({
      role: "app",
      restart: "unless-stopped",
      entrypoint: ["/usr/local/bin/ldap-daily"],
    });
  });

  it("passes generated passwords as secret files, one per service account, readable by openldap only", () => {
    for (const stack of [local, pica02]) {
      const ldap = containerOf(stack, "ldap");
      expect(Object.keys(ldap.secrets).sort()).toEqual(SECRET_ENV);
      for (const key of SECRET_ENV) expect(stack.secrets).toContain(ldap.secrets[key]);
      expect(new Set(SECRET_ENV.map((key) => ldap.secrets[key])).size).toBe(SECRET_ENV.length);
      const files = secretFilesOf(stack, ldap);
      expect(files.map((file) => file.path).sort()).toEqual(SECRET_ENV.map((key) => `/run/secrets/${key}`));
      expect(new Set(files.map((file) => `${file.mode} ${file.owner}`))).toEqual(new Set(["0400 100:101"]));
      expect(Object.keys(containerOf(stack, "ldap-daily").secrets)).toEqual([]);
    }
  });

  it("writes no password in the stack files", () => {
    for (const stack of [local, pica02]) {
      const file = fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack.stack}.yaml`), "utf8");
      for (const key of SECRET_ENV) expect(file).not.toContain(containerOf(stack, "ldap").env[key]);
      expect(JSON.stringify(stack.config.services.ldap)).not.toMatch(/password/i);
    }
  });

  it("derives the base DN and the organisation from the stack", () => {
    expect(containerOf(local, "ldap").env).toMatchObject({
      LDAP_BASE_DN: "dc=asso,dc=localhost",
      LDAP_DOMAIN: "asso.localhost",
      LDAP_ORGANISATION: "Picasoft (local)",
      LDAP_TLS_SELF_SIGNED: "true",
    });
    expect(containerOf(pica02, "ldap").env).toMatchObject({ LDAP_BASE_DN: "dc=picasoft,dc=example,dc=org", LDAP_TLS_SELF_SIGNED: "false" });
    expect(baseDnOf("a.b.example.org")).toBe("dc=a,dc=b,dc=example,dc=org");
  });

  it("publishes LDAPS only where the stack asks, as a labelled exception", () => {
    // local: on the loopback address only, a high port, for `npm run members` (.env.example).
    expect(containerOf(local, "ldap").ports).toEqual([{ host: 6636, container: 636, protocol: "tcp", ip: "127.0.0.1" }]);
    expect(containerOf(pica02, "ldap").ports).toEqual([{ host: 636, container: 636, protocol: "tcp", ip: "0.0.0.0" }]);
    expect(containerOf(pica02, "ldap").exceptions.publishPorts).toMatch(/sssd/);
    expect(containerOf(pica02, "ldap").networks).toEqual(["directory", "directory-published"]);
  });

  it("keeps data, config, certificates and backups on named volumes", () => {
    expect(containerOf(local, "ldap").volumes.map((v) => [v.source, v.target])).toEqual([
      ["ldap-data", "/var/lib/ldap"],
      ["ldap-config", "/etc/ldap/slapd.d"],
      ["ldap-tls", "/etc/ldap/tls"],
      ["ldap-certificate", "/etc/ldap/certificate"],
      ["ldap-run", "/run/slapd"],
      // The read-only root filesystem refuses uploads: its secret files live on a volume of their own, written by its carrier.
      ["ldap-secrets", "/run/secrets"],
    ]);
    const daily = containerOf(local, "ldap-daily").volumes;
    expect(daily.find((v) => v.target === "/var/backups/ldap")?.source).toBe("ldap-backup");
    expect(daily.find((v) => v.target === "/etc/ldap/slapd.d")?.readOnly).toBe(true);
  });
});

describe("LdapSettings", () => {
  it("documents its defaults", () => {
    expect(LdapSettings.parse({})).toEqual({
      memoryMb: 256,
      jobMemoryMb: 64,
      publishLdaps: false,
      ldapsPort: 636,
      tls: "acme",
      dailyAt: "03:00",
      logLevel: "stats",
    });
  });

  it.each([
    [{ dailyAt: "3am" }, "expected a time HH:MM (UTC) such as 03:00"],
    [{ memoryMb: 8 }, "expected at least 16 MiB"],
    [{ organisation: "" }, "expected the association's name"],
    [{ ldapsAddress: "localhost" }, "expected an IPv4 address such as 127.0.0.1"],
    [{ ldapsPort: 70000 }, "expected a TCP port, 1 to 65535"],
  ])("refuses %j", (settings, message) => {
    const result = LdapSettings.safeParse(settings);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toBe(message);
  });
});
