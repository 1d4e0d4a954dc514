import { z } from "zod";
import { memoryMb, secretSetting } from "./settings";

/**
 * `infra:acme`: how the host obtains the certificates of the daemons that no web proxy fronts (the
 * directory's LDAPS, the mail server's SMTP and IMAP), with ACME and the DNS-01 challenge at the
 * registrar: lego (platform/acme/image) writes a TXT record through the registrar's API, so nothing
 * needs to answer on port 80. The web services keep Traefik's own ACME (services.proxy.tls).
 * Zod only: the stack schema loads it; platform/acme-certificate.ts builds the containers.
 */

/** Let's Encrypt's production directory: the default ACME server. */
export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

/** Variables by name, as lego reads them from its environment: `{ OVH_ENDPOINT: ... }`. */
const variables = <V extends z.ZodType>(value: V) =>
  z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), value, {
    error: (issue) =>
      issue.code === "invalid_key" ? "expected an environment variable name such as OVH_ENDPOINT (lego dnshelp -c <provider>)" : undefined,
  });

/** `host:port` of a DNS server. */
const resolver = () => z.string().regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, { error: "expected a DNS server as host:port, e.g. 9.9.9.9:53" });

export const AcmeDnsSettings = z.strictObject({
  /** lego's code of the registrar's DNS API: `ovh` for the association, or any other (`lego dnshelp` lists them), `httpreq` for a small HTTP hook. */
  provider: z.string().regex(/^[a-z][a-z0-9]*$/, { error: "expected a lego DNS provider code such as ovh (lego dnshelp lists them)" }),
  /** The provider's plain settings, as lego names its environment variables: `OVH_ENDPOINT: ovh-eu`. */
  env: variables(z.string()).default({}),
  /**
   * The provider's secrets (API keys, tokens), same names, each encrypted in the stack file:
   * `pulumi config set --secret --path 'infra:acme.dns.credentials.OVH_APPLICATION_SECRET' ...`.
   */
  credentials: variables(secretSetting()).default({}),
  /** DNS servers lego asks to see the challenge record before asking for validation. Default: the host's resolver. */
  resolvers: z.array(resolver()).optional(),
  /**
   * Wait until every authoritative name server of the zone serves the challenge record (lego's default),
   * so that the ACME server finds it whichever it asks. Turn off only for a test DNS server that does
   * not answer SOA queries (pebble-challtestsrv).
   */
  completePropagation: z.boolean().default(true),
});

export const AcmeSettings = z.strictObject({
  /** ACME directory URL. Default Let's Encrypt production (its staging directory is for trying a new provider). */
  server: z.url({ protocol: /^https$/, error: "expected the https:// URL of an ACME directory" }).default(LETS_ENCRYPT),
  /**
   * PEM of the certificate authority the ACME server's own HTTPS certificate chains to, when it is not a
   * public one (a test server such as pebble). Default: the system's CAs.
   */
  serverCa: z.string().includes("-----BEGIN CERTIFICATE-----", { error: "expected a PEM certificate" }).optional(),
  dns: AcmeDnsSettings,
  /** Renew when fewer days than this are left (Let's Encrypt certificates last 90 days). Default 30. */
  renewDaysBefore: z
    .int({ error: "expected a whole number of days" })
    .min(1, { error: "expected 1 to 60 days" })
    .max(60, { error: "expected 1 to 60 days" })
    .default(30),
  /**
   * How often slapd, Postfix and Dovecot look for a renewed certificate in their volume, in seconds: they
   * reload within this delay of a renewal, without a restart. Default 60.
   */
  reloadCheckSeconds: z
    .int({ error: "expected a whole number of seconds" })
    .min(1, { error: "expected 1 to 3600 seconds" })
    .max(3600, { error: "expected 1 to 3600 seconds" })
    .default(60),
  /** Memory limit of each ACME container (one per certificate). Default 64 MiB. */
  memoryMb: memoryMb(64),
});

export type AcmeConfig = z.output<typeof AcmeSettings>;

/**
 * What the providers the association may use need, as lego documents them (`lego dnshelp -c <code>`):
 * the stack rules check these before anything is deployed. Providers not listed are passed to lego as
 * given; lego names what is missing in the ACME container's log.
 */
export const DNS_PROVIDER_VARIABLES: Record<string, { required: readonly string[]; secret: readonly string[] }> = {
  ovh: {
    required: ["OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY"],
    secret: ["OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY"],
  },
  httpreq: { required: ["HTTPREQ_ENDPOINT"], secret: ["HTTPREQ_PASSWORD"] },
};

/** A variable name that holds a secret whatever the provider: it belongs under `credentials`. */
export function looksSecret(name: string): boolean {
  return /(^|_)(SECRET|PASSWORD|PASS|TOKEN|KEY|APIKEY)(_|$)/.test(name);
}

/** Variables the ACME container sets itself (platform/acme-certificate.ts): a stack may not override them. */
export function reservedVariable(name: string): boolean {
  return /^(ACME|LEGO|TLS)_/.test(name);
}
