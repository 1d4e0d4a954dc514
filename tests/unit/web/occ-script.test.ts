import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OCC_SCRIPT, occJob, type OccSettings } from "../../../services/nextcloud/occ";

const SETTINGS: OccSettings = {
  trustedDomains: ["cloud.partner.example.org", "nextcloud-partner"],
  adminUser: "admin",
  adminEmail: "admin@partner.example.org",
  defaultQuota: "5 GB",
  smtpVerifyCertificate: true,
  office: {
    wopiUrl: "http://collabora:9980",
    publicWopiUrl: "https://office.example.org",
    callbackUrl: "http://nextcloud-partner",
    allowlist: "172.16.0.0/12,192.168.0.0/16",
  },
  ldap: { url: "ldaps://ldap", port: 636, baseDn: "dc=asso,dc=localhost", bindDn: "cn=nextcloud,ou=services,dc=asso,dc=localhost", bindPassword: "pw" },
};

/**
 * The job's script against a stand-in `php` that records each occ call and answers like an installed
 * Nextcloud: what the script asks of occ, and that running it twice converges (no second LDAP config).
 */
describe("the occ settings script", () => {
  let dir: string;
  const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "web-occ-"));
    fs.writeFileSync(
      path.join(dir, "php"),
      `#!/bin/sh
shift 2 # php /var/www/html/occ --no-interaction
echo "$*" >> "${dir}/calls"
case "$1" in
  status) echo '{"installed":true}' ;;
  app:install) [ -f "${dir}/installed" ] && exit 1; touch "${dir}/installed" ;;
  ldap:show-config) [ -f "${dir}/s01" ] && echo '{"s01":{}}' || echo '[]' ;;
  ldap:create-empty-config) touch "${dir}/s01" ;;
esac
exit 0
`,
      { mode: 0o755 },
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (settings: OccSettings) => {
    const job = occJob(settings);
    const env = { PATH: `${dir}:${process.env.PATH}`, ...job.env, ...(job.secretEnv as Record<string, string>) };
    return spawnSync("sh", ["-c", OCC_SCRIPT], { env, encoding: "utf8" });
  };

  it("passes shellcheck", () => {
    const file = path.join(dir, "occ.sh");
    fs.writeFileSync(file, `#!/bin/sh\n${OCC_SCRIPT}`);
    expect(() => execFileSync("shellcheck", [file], { encoding: "utf8" })).not.toThrow();
  });

  it("sets quota, admin email, Collabora and LDAP login on an installed Nextcloud", () => {
    const result = run(SETTINGS);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(calls()).toEqual(
      expect.arrayContaining([
        "config:system:set trusted_domains 0 --value=cloud.partner.example.org",
        "config:system:set trusted_domains 1 --value=nextcloud-partner",
        "config:app:set files default_quota --value=5 GB",
        "user:setting admin settings email admin@partner.example.org",
        "app:install richdocuments",
        "config:app:set richdocuments wopi_url --value=http://collabora:9980",
        "config:app:set richdocuments public_wopi_url --value=https://office.example.org",
        "config:app:set richdocuments wopi_callback_url --value=http://nextcloud-partner",
        "config:app:set richdocuments wopi_allowlist --value=172.16.0.0/12,192.168.0.0/16",
        "ldap:create-empty-config",
        "ldap:set-config s01 ldapHost ldaps://ldap",
        "ldap:set-config s01 ldapAgentPassword pw",
        "ldap:set-config s01 ldapUserFilter (&(objectClass=inetOrgPerson)(memberOf=cn=members,ou=groups,dc=asso,dc=localhost))",
        "ldap:set-config s01 ldapConfigurationActive 1",
      ]),
    );
    // The callback URL is set after activate-config, which would otherwise reset it.
    const list = calls();
    expect(list.lastIndexOf("config:app:set richdocuments wopi_callback_url --value=http://nextcloud-partner")).toBeGreaterThan(
      list.findIndex((call) => call.startsWith("richdocuments:activate-config")),
    );
  });

  it("converges when run again: richdocuments enabled instead of installed, no second LDAP configuration", () => {
    expect(run(SETTINGS).status).toBe(0);
    fs.writeFileSync(path.join(dir, "calls"), "");
    expect(run(SETTINGS).status).toBe(0);
    expect(calls()).toContain("app:enable richdocuments");
    expect(calls()).not.toContain("ldap:create-empty-config");
  });

  it("turns the SMTP certificate check off only when told (self-signed local mail server)", () => {
    expect(run({ ...SETTINGS, smtpVerifyCertificate: false }).status).toBe(0);
    expect(calls()).toContain("config:system:set mail_smtpstreamoptions ssl verify_peer --value=false --type=boolean");
    expect(run(SETTINGS).status).toBe(0);
    expect(calls()).toContain("config:system:set mail_smtpstreamoptions ssl verify_peer --value=true --type=boolean");
  });

  it("leaves Collabora and LDAP alone for a tenant without them", () => {
    expect(run({ trustedDomains: ["cloud.example.org"], adminUser: "admin", adminEmail: "a@example.org", defaultQuota: "none", smtpVerifyCertificate: true }).status).toBe(0);
    expect(calls().filter((call) => /richdocuments|ldap/.test(call))).toEqual([]);
  });
});
