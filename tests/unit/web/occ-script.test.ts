import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OCC_EXIT_CODES, OCC_SCRIPT, occJob, type OccSettings } from "../../../services/nextcloud/occ";

const SETTINGS: OccSettings = {
  trustedDomains: ["cloud.partner.example.org", "nextcloud-partner"],
  adminUser: "admin",
  adminEmail: "admin@partner.example.org",
  defaultQuota: "5 GB",
  smtpVerifyCertificate: true,
  redis: { host: "nextcloud-partner-redis", port: 6379, password: "redis-pw" },
  office: {
    wopiUrl: "http://collabora:9980",
    publicWopiUrl: "https://office.example.org",
    callbackUrl: "https://cloud.partner.example.org",
    allowlist: "172.16.0.0/12,192.168.0.0/16",
  },
  ldap: {
    url: "ldaps://ldap",
    port: 636,
    baseDn: "dc=asso,dc=localhost",
    bindDn: "cn=nextcloud,ou=services,dc=asso,dc=localhost",
    bindPassword: "pw",
  },
};
const WITHOUT_OFFICE_AND_LDAP: OccSettings = { ...SETTINGS, office: undefined, ldap: undefined, trustedDomains: ["cloud.example.org"] };

/**
 * A stand-in `php` that records each occ call and answers like Nextcloud. Its behaviour per occ command
 * comes from files in its folder: `fail-<command>` (or `fail-<command>-<first argument>`) makes it exit 1, `hang-<command>` makes it
 * sleep a minute, `not-installed` makes `status` say the instance is not installed.
 */
function standInPhp(dir: string): string {
  return `#!/bin/sh
shift 2 # php /var/www/html/occ --no-interaction
echo "$*" >> "${dir}/calls"
[ -f "${dir}/hang-$1" ] && sleep 60
[ -f "${dir}/fail-$1" ] && exit 1
[ -f "${dir}/fail-$1-\${2:-}" ] && exit 1
case "$1" in
  status) [ -f "${dir}/not-installed" ] && echo '{"installed":false}' || echo '{"installed":true}' ;;
  app:install) [ -f "${dir}/installed" ] && exit 1; touch "${dir}/installed" ;;
  ldap:show-config) [ -f "${dir}/s01" ] && echo '{"s01":{}}' || echo '[]' ;;
  ldap:create-empty-config) touch "${dir}/s01" ;;
esac
exit 0
`;
}

/** The job's script against the stand-in: what it asks of occ, what it logs, how it ends. */
describe("the occ settings script", () => {
  let dir: string;
  const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []);
  const make = (file: string) => fs.writeFileSync(path.join(dir, file), "");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "web-occ-"));
    fs.writeFileSync(path.join(dir, "php"), standInPhp(dir), { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (settings: OccSettings, extraEnv: Record<string, string> = {}) => {
    const job = occJob(settings);
    // Secrets come as files, their paths in <VAR>_FILE (platform/container.ts).
    const secretFiles = Object.entries(job.secretEnv as Record<string, string>).map(([key, value]) => {
      fs.writeFileSync(path.join(dir, `secret-${key}`), value);
      return [`${key}_FILE`, path.join(dir, `secret-${key}`)];
    });
    const env = {
      PATH: `${dir}:${process.env.PATH}`,
      ...job.env,
      ...Object.fromEntries(secretFiles),
      OCC_POLL_SECONDS: "1",
      ...extraEnv,
    };
    const started = Date.now();
    const result = spawnSync("sh", ["-c", OCC_SCRIPT], { env, encoding: "utf8", timeout: 30_000 });
    return { ...result, seconds: (Date.now() - started) / 1000, lines: result.stdout.trim().split("\n") };
  };

  it("passes shellcheck", () => {
    const file = path.join(dir, "occ.sh");
    fs.writeFileSync(file, `#!/bin/sh\n${OCC_SCRIPT}`);
    expect(() => execFileSync("shellcheck", [file], { encoding: "utf8" })).not.toThrow();
  });

  it("sets Redis, quota, admin email, Collabora and LDAP login on an installed Nextcloud, and exits 0", () => {
    const result = run(SETTINGS);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(calls()).toEqual(
      expect.arrayContaining([
        "config:system:set redis host --value=nextcloud-partner-redis",
        "config:system:set redis port --value=6379 --type=integer",
        "config:system:set redis password --value=redis-pw",
        "config:system:set memcache.distributed --value=\\OC\\Memcache\\Redis",
        "config:system:set memcache.locking --value=\\OC\\Memcache\\Redis",
        "config:system:set trusted_domains 0 --value=cloud.partner.example.org",
        "config:system:set trusted_domains 1 --value=nextcloud-partner",
        "config:app:set files default_quota --value=5 GB",
        "user:setting admin settings email admin@partner.example.org",
        "app:install richdocuments",
        "config:app:set richdocuments wopi_url --value=http://collabora:9980",
        "config:app:set richdocuments public_wopi_url --value=https://office.example.org",
        "config:app:set richdocuments wopi_callback_url --value=https://cloud.partner.example.org",
        "config:app:set richdocuments wopi_allowlist --value=172.16.0.0/12,192.168.0.0/16",
        "ldap:create-empty-config",
        "ldap:set-config s01 ldapHost ldaps://ldap",
        "ldap:set-config s01 ldapAgentPassword pw",
        "ldap:set-config s01 ldapUserFilter (&(objectClass=inetOrgPerson)(memberOf=cn=members,ou=groups,dc=asso,dc=localhost))",
        "ldap:set-config s01 ldapConfigurationActive 1",
      ]),
    );
    // Redis before anything else, the servers' settings before the memcache classes that use them.
    const list = calls();
    expect(list.findIndex((c) => c.startsWith("config:system:set redis host"))).toBeLessThan(
      list.findIndex((c) => c.startsWith("config:system:set memcache.locking")),
    );
    // The callback URL is set after activate-config, which would otherwise reset it.
    expect(list.lastIndexOf("config:app:set richdocuments wopi_callback_url --value=https://cloud.partner.example.org")).toBeGreaterThan(
      list.findIndex((call) => call.startsWith("richdocuments:activate-config")),
    );
    expect(result.lines.at(-1)).toBe("occ-job: done: every setting applied");
  });

  it("logs each step with its outcome", () => {
    const result = run(SETTINGS);
    const steps = [
      "redis",
      "trusted-domains",
      "quota",
      "mail-tls",
      "admin-email",
      "office-app",
      "office-connection",
      "office-settings",
      "ldap",
    ];
    for (const step of steps) {
      expect(result.lines, step).toContain(`occ-job: step ${step}: start`);
      expect(result.lines, step).toContain(`occ-job: step ${step}: ok`);
    }
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
    expect(run(WITHOUT_OFFICE_AND_LDAP).status).toBe(0);
    expect(calls().filter((call) => /richdocuments|ldap/.test(call))).toEqual([]);
  });

  // Defect 4 of issue 19: with `set -e` the first failing command stopped the job, and it waited forever.
  it("still sets the LDAP login when the app store is unreachable, names the failed step and exits 1", () => {
    make("fail-app:install");
    make("fail-app:enable-richdocuments");
    const result = run(SETTINGS);
    expect(result.status).toBe(1);
    expect(result.lines).toContain("occ-job: step office-app: FAILED (exit 1)");
    expect(calls()).toContain("ldap:set-config s01 ldapConfigurationActive 1");
    expect(result.lines.at(-1)).toBe("occ-job: done: failed steps: office-app");
    expect(OCC_EXIT_CODES[1]).toMatch(/some steps failed/);
  });

  it("gives up at its deadline when Nextcloud never gets installed, says so and exits 2", () => {
    make("not-installed");
    const result = run(WITHOUT_OFFICE_AND_LDAP, { OCC_DEADLINE_SECONDS: "3" });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(2);
    expect(result.seconds).toBeLessThan(10);
    expect(result.lines.at(-1)).toBe("occ-job: done: Nextcloud was not installed within 3 s; nothing applied");
    expect(calls().filter((call) => !call.startsWith("status"))).toEqual([]);
  });

  it("bounds a hanging occ call by the deadline, skips the steps after it and exits 3", () => {
    make("hang-app:install");
    const result = run(SETTINGS, { OCC_DEADLINE_SECONDS: "4" });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(3);
    expect(result.seconds).toBeLessThan(15);
    expect(result.lines).toContain("occ-job: step ldap: skipped, the deadline has passed");
    expect(result.lines.at(-1)).toMatch(/^occ-job: done: the deadline passed; not applied: office-app .*ldap$/);
  });

  it("runs with the job's deadline by default, and carries it in the job's hash", () => {
    expect(occJob(SETTINGS).env.OCC_DEADLINE_SECONDS).toBe("1800");
    expect(occJob({ ...SETTINGS, deadlineSeconds: 600 }).hash).not.toBe(occJob(SETTINGS).hash);
  });
});
