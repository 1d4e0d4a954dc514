import { z } from "zod";
import { declareService } from "../platform/service";
import { memoryMb } from "../platform/settings";

export const LdapSettings = z.strictObject({
  /** Name of the organisation in the base entry (`o`). Default: the stack's domain. */
  organisation: z.string().min(1, { error: "expected the association's name" }).optional(),
  /** Memory limit of slapd. Default 256 MiB (5,000 members use about 30 MiB). */
  memoryMb: memoryMb(256),
  /** Memory limit of the daily job (expire + slapcat export). Default 64 MiB. */
  jobMemoryMb: memoryMb(64),
  /**
   * Publish LDAPS (636) on the host, for the sssd of the other hosts. Default false: only the
   * containers on the `directory` network reach it.
   */
  publishLdaps: z.boolean().default(false),
  /** Host port LDAPS is published on (publishLdaps). Default 636, which the other hosts' sssd use. */
  ldapsPort: z.number().int().min(1).max(65535, { error: "expected a TCP port, 1 to 65535" }).default(636),
  /**
   * Host address LDAPS is published on (publishLdaps). Default: every address. `127.0.0.1` on local, so that
   * `npm run members` reaches the directory at ldaps://localhost:<ldapsPort> (.env.example) and nothing else does.
   */
  ldapsAddress: z.ipv4({ error: "expected an IPv4 address such as 127.0.0.1" }).optional(),
  /**
   * The certificate of `ldap.<domain>` (LDAPS, StartTLS), in the `ldap-tls` volume. `acme` (default): obtained
   * and renewed by the `ldap-acme` container with the host's `infra:acme` settings (DNS-01 at the registrar),
   * loaded by slapd without a restart; slapd waits for the first one. `self-signed` (local): made by slapd at
   * its first start, for `ldap`, `ldap.<domain>` and `localhost`.
   */
  tls: z.enum(["acme", "self-signed"], { error: "expected acme or self-signed" }).default("acme"),
  /** UTC time of the daily job: lock expired accesses, then export the directory to `ldap-backup`. Default 03:00. */
  dailyAt: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "expected a time HH:MM (UTC) such as 03:00" })
    .default("03:00"),
  /** slapd log level (`none`, `stats`, `stats2`, ...), to the container's log. Default stats (one line per operation). */
  logLevel: z.enum(["none", "stats", "stats2", "acl", "any"]).default("stats"),
});

export type LdapConfig = z.output<typeof LdapSettings>;

/** `infra:services.ldap`: the association's directory; every other service of the host may read it. */
export const LdapService = declareService({
  name: "ldap",
  summary: "OpenLDAP directory: members, groups, service accounts, tech access with expiry",
  settings: LdapSettings,
  /** `acme`: the ldap-acme container's (platform/acme/image). */
  ownImages: ["ldap", "acme"],
  provides: ["directory"],
});
