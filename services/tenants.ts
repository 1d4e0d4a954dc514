import { z } from "zod";
import type { StackConfig } from "./config";

/**
 * The Nextcloud tenants of a host: the association itself (id `asso`, on `cloud.<domain>`) and each
 * partner association of `infra:partners` (on its own domain). The id names the tenant's containers,
 * network and volumes, so it never changes; Collabora serves every tenant of the host.
 */

/** The association's own tenant id; partners may not take it. */
export const ASSO_TENANT_ID = "asso";

/** A Nextcloud quota: a size such as `5 GB` or `500 MB`, or `none` (no limit). */
export const quota = () =>
  z.string().regex(/^(none|[1-9][0-9]* ?(B|KB|MB|GB|TB))$/, { error: "expected a size such as '5 GB' or 'none'" });

export interface TenantAddress {
  id: string;
  /** Public host name of the tenant's Nextcloud. */
  domain: string;
}

/** Every tenant of the host, association first, partners in stack-file order. */
export function tenantAddresses(config: StackConfig): TenantAddress[] {
  return [
    { id: ASSO_TENANT_ID, domain: `cloud.${config.domain}` },
    ...config.partners.map((partner) => ({ id: partner.id, domain: partner.domain })),
  ];
}

/** Container (and Docker DNS) name of a tenant's Nextcloud on the edge network. */
export function nextcloudContainerName(tenantId: string): string {
  return `nextcloud-${tenantId}`;
}
