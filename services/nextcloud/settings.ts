import { z } from "zod";
import { ldapsUrl } from "../../platform/directory";
import { declareService } from "../../platform/service";
import { email, imageRef, memoryMb, secretSetting } from "../../platform/settings";
import { SmtpSettings } from "../../platform/smtp-client";
import { quota } from "../../platform/tenants";

export const DEFAULT_IMAGE = "nextcloud:30.0.4-apache";

/** Docker's default address pools: the edge network gets its subnet from them unless the daemon says otherwise. */
const DOCKER_DEFAULT_POOLS = ["172.16.0.0/12", "192.168.0.0/16"];
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

export const NextcloudSettings = z.strictObject({
  /** Nextcloud image (apache variant), pinned by tag; every tenant runs the same version. */
  image: imageRef().default(DEFAULT_IMAGE),
  /** Memory of each tenant's Nextcloud (apache + PHP). */
  memoryMb: memoryMb(1024),
  /** Each tenant's PostgreSQL: our image, PostgreSQL 15 from Debian (platform/postgres.ts). */
  database: z.strictObject({ memoryMb: memoryMb(512) }).prefault({}),
  redis: z.strictObject({ memoryMb: memoryMb(128) }).prefault({}),
  /** The background-jobs container of each tenant (busybox crond running cron.php every 5 minutes). */
  cron: z.strictObject({ memoryMb: memoryMb(256) }).prefault({}),
  /** The one-shot `occ` job that applies quota, admin email, Collabora and LDAP settings. */
  occ: z.strictObject({ memoryMb: memoryMb(256) }).prefault({}),
  /** Administrator email of the association's own Nextcloud. Default: `tech@<domain>`. */
  adminEmail: email().optional(),
  /** Storage quota of each user of the association's own Nextcloud (partners set theirs in `infra:partners`). */
  defaultQuota: quota().default("10 GB"),
  /**
   * Address ranges the proxy and Collabora reach Nextcloud from (the edge network): trusted for
   * X-Forwarded-* headers and allowed to make WOPI requests. Default: Docker's default address pools.
   */
  edgeSubnets: z
    .array(z.string().regex(CIDR, { error: "expected an IPv4 CIDR such as 172.18.0.0/16" }))
    .min(1)
    .default(DOCKER_DEFAULT_POOLS),
  /** Mail (password reset, notifications) through the association's mail server (see platform/smtp-client.ts). */
  smtp: SmtpSettings,
  /**
   * Present: the association's members log in to its Nextcloud with their directory account
   * (user_ldap, read-only `nextcloud` service account). Partners' instances never use the directory.
   */
  ldap: z
    .strictObject({
      /** ldaps:// URL of the directory when it runs on another host. Default: `ldaps://ldap.<domain>:636`. */
      url: ldapsUrl().optional(),
      /** Password of the `nextcloud` service account when the directory runs on another host. Default: smtp.password. */
      password: secretSetting().optional(),
    })
    .optional(),
});

export type NextcloudConfig = z.output<typeof NextcloudSettings>;

/** `infra:services.nextcloud`: one Nextcloud per tenant (the association and each partner of the host). */
export const NextcloudService = declareService({
  name: "nextcloud",
  summary: "Nextcloud for the association and each partner association, with PostgreSQL, Redis and cron",
  settings: NextcloudSettings,
  /** Its databases' (platform/postgres/image). */
  ownImages: ["postgres"],
  needs: { directory: "optional", mail: "optional", office: "optional" },
});
