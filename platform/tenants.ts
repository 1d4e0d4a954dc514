import { z } from "zod";
import { email, hostname } from "./settings";

/**
 * The Nextcloud tenants of a host: the association itself (id `asso`, on `cloud.<domain>`) and each
 * partner association of `infra:partners` (on its own domain). The id names the tenant's containers,
 * network and volumes, so it never changes; Collabora serves every tenant of the host.
 */

/** The association's own tenant id; partners may not take it. */
export const ASSO_TENANT_ID = "asso";

/** A Nextcloud quota: a size such as `5 GB` or `500 MB`, or `none` (no limit). */
export const quota = () => z.string().regex(/^(none|[1-9][0-9]* ?(B|KB|MB|GB|TB))$/, { error: "expected a size such as '5 GB' or 'none'" });

export interface TenantAddress {
  id: string;
  /** Public host name of the tenant's Nextcloud. */
  domain: string;
}

/** A partner association (`infra:partners`); `id` names its containers and volumes, so it must never change. */
export const Partner = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z][a-z0-9]{1,19}$/, { error: "expected 2-20 lower-case letters or digits, starting with a letter" })
    .refine((id) => id !== ASSO_TENANT_ID, { error: `'${ASSO_TENANT_ID}' is the association's own Nextcloud; choose another id` }),
  name: z.string().min(1, { error: "expected the association's name" }),
  /** Host name of the partner's Nextcloud (a DNS record pointing at this host is needed). */
  domain: hostname(),
  /** Email address of the partner's Nextcloud administrator. */
  adminEmail: email(),
  /** Storage quota of each of the partner's Nextcloud users, e.g. `5 GB` or `none`. */
  defaultQuota: quota().default("5 GB"),
});

export type PartnerConfig = z.output<typeof Partner>;

/** Every tenant of the host, association first, partners in stack-file order. */
export function tenantAddresses(config: { domain: string; partners: readonly PartnerConfig[] }): TenantAddress[] {
  return [
    { id: ASSO_TENANT_ID, domain: `cloud.${config.domain}` },
    ...config.partners.map((partner) => ({ id: partner.id, domain: partner.domain })),
  ];
}

/** Container (and Docker DNS) name of a tenant's Nextcloud on the edge network. */
export function nextcloudContainerName(tenantId: string): string {
  return `nextcloud-${tenantId}`;
}
