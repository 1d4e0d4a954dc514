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
  /** Where Collabora calls this Nextcloud back (edge network; listed in Collabora's alias group). */
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

export interface OccSettings {
  /** Host names Nextcloud answers to: the public one, and the edge-network name Collabora calls back on. */
  trustedDomains: string[];
  adminUser: string;
  adminEmail: string;
  defaultQuota: string;
  office?: OfficeSettings;
  ldap?: LdapLoginSettings;
  /** False only for a self-signed mail certificate on the same host (see SmtpClient.verifyCertificate). */
  smtpVerifyCertificate: boolean;
}

// The app container installs Nextcloud on its first start; the job waits for that, then applies.
// `occ app:install` fails when the app is already there, hence the fallback to `app:enable`.
// `richdocuments:activate-config` checks the connection and fetches discovery; Collabora may still be
// starting, so a failure there is reported but does not fail the job (the settings are set after it
// because it rewrites the callback URL).
export const OCC_SCRIPT = `set -eu
occ() { php /var/www/html/occ --no-interaction "$@"; }
until occ status --output=json 2>/dev/null | grep -q '"installed":true'; do
  echo "waiting for Nextcloud to be installed"; sleep 10
done
# The image applies NEXTCLOUD_TRUSTED_DOMAINS at installation only; this keeps the list in step afterwards.
i=0
for domain in $OCC_TRUSTED_DOMAINS; do
  occ config:system:set trusted_domains "$i" --value="$domain"
  i=$((i + 1))
done
occ config:app:set files default_quota --value="$OCC_DEFAULT_QUOTA"
# The image has no variable for it: without it, mail to a self-signed local server fails the TLS check.
verify="$OCC_SMTP_VERIFY_CERTIFICATE"
occ config:system:set mail_smtpstreamoptions ssl verify_peer --value="$verify" --type=boolean
occ config:system:set mail_smtpstreamoptions ssl verify_peer_name --value="$verify" --type=boolean
occ user:setting "$OCC_ADMIN_USER" settings email "$OCC_ADMIN_EMAIL"
if [ -n "\${OCC_WOPI_URL:-}" ]; then
  occ app:install richdocuments || occ app:enable richdocuments
  occ richdocuments:activate-config --wopi-url="$OCC_WOPI_URL" --callback-url="$OCC_WOPI_CALLBACK_URL" || echo "warning: Collabora not reachable yet"
  occ config:app:set richdocuments wopi_url --value="$OCC_WOPI_URL"
  occ config:app:set richdocuments public_wopi_url --value="$OCC_PUBLIC_WOPI_URL"
  occ config:app:set richdocuments wopi_callback_url --value="$OCC_WOPI_CALLBACK_URL"
  occ config:app:set richdocuments wopi_allowlist --value="$OCC_WOPI_ALLOWLIST"
fi
if [ -n "\${OCC_LDAP_URL:-}" ]; then
  occ app:enable user_ldap
  occ ldap:show-config --output=json | grep -q '"s01"' || occ ldap:create-empty-config
  members="memberOf=cn=members,ou=groups,$OCC_LDAP_BASE_DN"
  occ ldap:set-config s01 ldapHost "$OCC_LDAP_URL"
  occ ldap:set-config s01 ldapPort "$OCC_LDAP_PORT"
  occ ldap:set-config s01 ldapTLS 0
  occ ldap:set-config s01 ldapAgentName "$OCC_LDAP_BIND_DN"
  occ ldap:set-config s01 ldapAgentPassword "$OCC_LDAP_BIND_PASSWORD"
  occ ldap:set-config s01 ldapBase "$OCC_LDAP_BASE_DN"
  occ ldap:set-config s01 ldapBaseUsers "ou=people,$OCC_LDAP_BASE_DN"
  occ ldap:set-config s01 ldapBaseGroups "ou=groups,$OCC_LDAP_BASE_DN"
  occ ldap:set-config s01 ldapUserFilter "(&(objectClass=inetOrgPerson)($members))"
  occ ldap:set-config s01 ldapLoginFilter "(&(objectClass=inetOrgPerson)($members)(|(uid=%uid)(mail=%uid)))"
  occ ldap:set-config s01 ldapGroupFilter "(objectClass=groupOfNames)"
  occ ldap:set-config s01 ldapGroupMemberAssocAttr member
  occ ldap:set-config s01 ldapExpertUsernameAttr uid
  occ ldap:set-config s01 ldapUserDisplayName cn
  occ ldap:set-config s01 ldapEmailAttribute mail
  occ ldap:set-config s01 ldapConfigurationActive 1
fi
echo "settings applied"
`;

export interface OccJob {
  /** Plain settings (become the job's environment). */
  env: Record<string, string>;
  /** Secret settings (environment too, never hashed or printed). */
  secretEnv: Record<string, pulumi.Input<string>>;
  /** Short hash of the plain settings and the script: part of the job's name. */
  hash: string;
}

/** The job's environment, derived only from the settings, and the hash that names it. */
export function occJob(settings: OccSettings): OccJob {
  const env: Record<string, string> = {
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
  const secretEnv: Record<string, pulumi.Input<string>> = {};
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
