import type * as pulumi from "@pulumi/pulumi";
import { AccountPage } from "../account/component";
import { Backup } from "../backup/component";
import { DirectoryServer } from "../ldap/component";
import { MailServer } from "../mail/component";
import { Agent } from "../monitoring/agent";
import { Monitoring } from "../monitoring/component";
import type { ServiceArgs, ServiceOutputs } from "../platform/service";
import { Collabora } from "../services/collabora/component";
import { Mattermost } from "../services/mattermost/component";
import { Nextcloud } from "../services/nextcloud/component";
import type { CatalogEntry } from "./catalog";

/** A service's component class, built from its declaration's settings and endpoints. */
type ServiceComponent<D extends CatalogEntry> = new (
  name: string,
  args: ServiceArgs<D>,
  opts?: pulumi.ComponentResourceOptions,
) => pulumi.ComponentResource & ServiceOutputs;

/** The component of each service of the catalog (stacks/catalog.ts); the compiler checks none is missing. */
export const SERVICE_COMPONENTS: { [D in CatalogEntry as D["name"]]: ServiceComponent<D> } = {
  ldap: DirectoryServer,
  mail: MailServer,
  mattermost: Mattermost,
  nextcloud: Nextcloud,
  collabora: Collabora,
  account: AccountPage,
  monitoring: Monitoring,
  agent: Agent,
  backup: Backup,
};
