import type * as pulumi from "@pulumi/pulumi";
import { hashContent } from "../../platform/hash";

/**
 * Settings of a Nextcloud tenant that the image's environment variables cannot carry (they live in the
 * database): default quota, admin email, Collabora (richdocuments) and LDAP login (user_ldap).
 * They are applied by a one-shot `occ` container whose environment holds the settings and whose name
 * carries their hash: Pulumi creates a new job, which runs once, when and only when the settings change.
 * Every step is idempotent, so a re-run on an installed instance converges to the same state.
 */

export interface OfficeSettings {
  /** Where Nextcloud fetches Collabora's discovery, server to server (edge network). */
  wopiUrl: string;
  /** Collabora's public URL, used by browsers. */
  publicWopiUrl: string;
  /** Where Collabora calls this Nextcloud back: its public URL, which richdocuments makes the WOPISrc. */
  callbackUrl: string;
  /** Networks allowed to make WOPI requests (space-separated CIDRs: the edge network). */
  allowlist: string;
}

export interface LdapLoginSettings {
  /** ldaps://<host> of the directory, and its port. */
  url: string;
  port: number;
  baseDn: string;
  /** Bind DN of the read-only `nextcloud` service account. */
  bindDn: string;
  bindPassword: pulumi.Input<string>;
}

export interface RedisSettings {
  /** The tenant's Redis on its internal network. */
  host: string;
  port: number;
  password: pulumi.Input<string>;
}

export interface OccSettings {
  /** Host names Nextcloud answers to: the public one, and the edge-network name (see services/nextcloud/component.ts). */
  trustedDomains: string[];
  adminUser: string;
  adminEmail: string;
  defaultQuota: string;
  /** Distributed cache and file locking (config.php, read by the app, cron and occ alike). */
  redis: RedisSettings;
  office?: OfficeSettings;
  ldap?: LdapLoginSettings;
  /** False only for a self-signed mail certificate on the same host (see SmtpClient.verifyCertificate). */
  smtpVerifyCertificate: boolean;
  /** The job gives up (and says so in its exit code) this long after it started. Default: OCC_DEADLINE_SECONDS. */
  deadlineSeconds?: number;
}

/**
 * How long a job may take, waiting for the installation included: the app container's first start (copy,
 * `maintenance:install`, up to 10 retries 10 s apart in the image's entrypoint) takes minutes, the app store
 * download of richdocuments may too. Past it, the job stops and exits non-zero instead of waiting forever.
 */
export const OCC_DEADLINE_SECONDS = 1800;

/** What the job's exit code says; `npm run smoke` prints it for a job that did not exit 0. */
export const OCC_EXIT_CODES: Readonly<Record<number, string>> = {
  0: "every setting applied",
  1: "some steps failed (each named in the job's log); the others were applied",
  2: "Nextcloud was not installed before the deadline: nothing applied",
  3: "the deadline passed while applying: the steps after it were skipped",
  137: "killed (out of memory, or stopped before it finished)",
};

/**
 * The job. Each step logs `occ-job: step <name>: start`, then `ok` or `FAILED (exit N)`; a failing step
 * does not stop the others (an unreachable app store must not keep the LDAP login from being set). Every
 * occ call is bounded by what is left of the deadline (`timeout`). The last line says what happened and
 * the exit code follows OCC_EXIT_CODES. Every step is idempotent: a re-run converges to the same state.
 */
export const OCC_SCRIPT = `set -u
deadline=$(( $(date +%s) + OCC_DEADLINE_SECONDS ))
failed=""
late=""
log() { echo "occ-job: $*"; }
left() { echo $(( deadline - $(date +%s) )); }
occ() {
  [ "$(left)" -gt 0 ] || return 124
  timeout "$(left)" php /var/www/html/occ --no-interaction "$@"
}
step() {
  name=$1
  shift
  if [ "$(left)" -le 0 ]; then
    log "step $name: skipped, the deadline has passed"
    failed="$failed $name"
    late=1
    return 0
  fi
  log "step $name: start"
  if "$@"; then
    log "step $name: ok"
  else
    status=$?
    log "step $name: FAILED (exit $status)"
    failed="$failed $name"
  fi
}

# The app container installs Nextcloud on its first start; the settings need an installed instance.
poll=\${OCC_POLL_SECONDS:-10}
log "waiting for Nextcloud to be installed (deadline in $(left) s)"
until occ status --output=json 2>/dev/null | grep -q '"installed":true'; do
  if [ "$(left)" -le "$poll" ]; then
    log "done: Nextcloud was not installed within $OCC_DEADLINE_SECONDS s; nothing applied"
    exit 2
  fi
  sleep "$poll"
done
log "Nextcloud is installed"

# In config.php, not in the containers' environment: the image's entrypoint writes a root-owned file for
# REDIS_HOST, and every container of the tenant (app, cron, this job) must lock through the same Redis.
redis() {
  occ config:system:set redis host --value="$OCC_REDIS_HOST" &&
    occ config:system:set redis port --value="$OCC_REDIS_PORT" --type=integer &&
    occ config:system:set redis password --value="$(cat "$OCC_REDIS_PASSWORD_FILE")" &&
    occ config:system:set memcache.distributed --value='\\OC\\Memcache\\Redis' &&
    occ config:system:set memcache.locking --value='\\OC\\Memcache\\Redis'
}
# The image applies NEXTCLOUD_TRUSTED_DOMAINS at installation only; this keeps the list in step afterwards.
trusted_domains() {
  i=0
  for domain in $OCC_TRUSTED_DOMAINS; do
    occ config:system:set trusted_domains "$i" --value="$domain" || return
    i=$((i + 1))
  done
}
quota() {
  occ config:app:set files default_quota --value="$OCC_DEFAULT_QUOTA"
}
# The image has no variable for it: without it, mail to a self-signed local server fails the TLS check.
mail_tls() {
  occ config:system:set mail_smtpstreamoptions ssl verify_peer --value="$OCC_SMTP_VERIFY_CERTIFICATE" --type=boolean &&
    occ config:system:set mail_smtpstreamoptions ssl verify_peer_name --value="$OCC_SMTP_VERIFY_CERTIFICATE" --type=boolean
}
admin_email() {
  occ user:setting "$OCC_ADMIN_USER" settings email "$OCC_ADMIN_EMAIL"
}
# occ app:install fails when the app is already there, hence the fallback to app:enable.
office_app() {
  occ app:install richdocuments || occ app:enable richdocuments
}
# Checks the connection and fetches discovery; Collabora may still be starting, so it is retried until
# the deadline. It rewrites the callback URL, hence the settings after it.
office_connection() {
  until occ richdocuments:activate-config --wopi-url="$OCC_WOPI_URL" --callback-url="$OCC_WOPI_CALLBACK_URL"; do
    [ "$(left)" -gt "$poll" ] || return 1
    log "Collabora not reachable yet at $OCC_WOPI_URL; again in $poll s"
    sleep "$poll"
  done
}
office_settings() {
  occ config:app:set richdocuments wopi_url --value="$OCC_WOPI_URL" &&
    occ config:app:set richdocuments public_wopi_url --value="$OCC_PUBLIC_WOPI_URL" &&
    occ config:app:set richdocuments wopi_callback_url --value="$OCC_WOPI_CALLBACK_URL" &&
    occ config:app:set richdocuments wopi_allowlist --value="$OCC_WOPI_ALLOWLIST"
}
ldap() {
  members="memberOf=cn=members,ou=groups,$OCC_LDAP_BASE_DN"
  occ app:enable user_ldap || return
  occ ldap:show-config --output=json | grep -q '"s01"' || occ ldap:create-empty-config || return
  occ ldap:set-config s01 ldapHost "$OCC_LDAP_URL" &&
    occ ldap:set-config s01 ldapPort "$OCC_LDAP_PORT" &&
    occ ldap:set-config s01 ldapTLS 0 &&
    occ ldap:set-config s01 ldapAgentName "$OCC_LDAP_BIND_DN" &&
    occ ldap:set-config s01 ldapAgentPassword "$(cat "$OCC_LDAP_BIND_PASSWORD_FILE")" &&
    occ ldap:set-config s01 ldapBase "$OCC_LDAP_BASE_DN" &&
    occ ldap:set-config s01 ldapBaseUsers "ou=people,$OCC_LDAP_BASE_DN" &&
    occ ldap:set-config s01 ldapBaseGroups "ou=groups,$OCC_LDAP_BASE_DN" &&
    occ ldap:set-config s01 ldapUserFilter "(&(objectClass=inetOrgPerson)($members))" &&
    occ ldap:set-config s01 ldapLoginFilter "(&(objectClass=inetOrgPerson)($members)(|(uid=%uid)(mail=%uid)))" &&
    occ ldap:set-config s01 ldapGroupFilter "(objectClass=groupOfNames)" &&
    occ ldap:set-config s01 ldapGroupMemberAssocAttr member &&
    occ ldap:set-config s01 ldapExpertUsernameAttr uid &&
    occ ldap:set-config s01 ldapUserDisplayName cn &&
    occ ldap:set-config s01 ldapEmailAttribute mail &&
    occ ldap:set-config s01 ldapConfigurationActive 1
}

step redis redis
step trusted-domains trusted_domains
step quota quota
step mail-tls mail_tls
step admin-email admin_email
if [ -n "\${OCC_WOPI_URL:-}" ]; then
  step office-app office_app
  step office-connection office_connection
  step office-settings office_settings
fi
if [ -n "\${OCC_LDAP_URL:-}" ]; then
  step ldap ldap
fi

if [ -n "$late" ]; then
  log "done: the deadline passed; not applied:$failed"
  exit 3
fi
if [ -n "$failed" ]; then
  log "done: failed steps:$failed"
  exit 1
fi
log "done: every setting applied"
`;

export interface OccJob {
  /** Plain settings (become the job's environment). */
  env: Record<string, string>;
  /** Secret settings, handed as files: <VAR>_FILE in the environment (platform/container.ts); never hashed. */
  secretEnv: Record<string, pulumi.Input<string>>;
  /** Short hash of the plain settings and the script: part of the job's name. */
  hash: string;
}

/** The job's environment, derived only from the settings, and the hash that names it. */
export function occJob(settings: OccSettings): OccJob {
  const env: Record<string, string> = {
    OCC_DEADLINE_SECONDS: String(settings.deadlineSeconds ?? OCC_DEADLINE_SECONDS),
    OCC_REDIS_HOST: settings.redis.host,
    OCC_REDIS_PORT: String(settings.redis.port),
    OCC_TRUSTED_DOMAINS: settings.trustedDomains.join(" "),
    OCC_ADMIN_USER: settings.adminUser,
    OCC_ADMIN_EMAIL: settings.adminEmail,
    OCC_DEFAULT_QUOTA: settings.defaultQuota,
    OCC_SMTP_VERIFY_CERTIFICATE: String(settings.smtpVerifyCertificate),
  };
  if (settings.office) {
    env.OCC_WOPI_URL = settings.office.wopiUrl;
    env.OCC_PUBLIC_WOPI_URL = settings.office.publicWopiUrl;
    env.OCC_WOPI_CALLBACK_URL = settings.office.callbackUrl;
    env.OCC_WOPI_ALLOWLIST = settings.office.allowlist;
  }
  // Generated passwords: they change only with their resource, which replaces the job anyway.
  const secretEnv: Record<string, pulumi.Input<string>> = { OCC_REDIS_PASSWORD: settings.redis.password };
  if (settings.ldap) {
    env.OCC_LDAP_URL = settings.ldap.url;
    env.OCC_LDAP_PORT = String(settings.ldap.port);
    env.OCC_LDAP_BASE_DN = settings.ldap.baseDn;
    env.OCC_LDAP_BIND_DN = settings.ldap.bindDn;
    // A generated or encrypted password: it changes only with the account, which replaces the job anyway.
    secretEnv.OCC_LDAP_BIND_PASSWORD = settings.ldap.bindPassword;
  }
  return { env, secretEnv, hash: hashContent({ ...env, script: OCC_SCRIPT }).slice(0, 10) };
}
