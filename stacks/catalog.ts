import type { z } from "zod";
import { AccountService } from "../account/settings";
import { BackupService } from "../backup/settings";
import { LdapService } from "../ldap/settings";
import { MailService } from "../mail/settings";
import { AgentService } from "../monitoring/agent-settings";
import { MonitoringService } from "../monitoring/settings";
import { CollaboraService } from "../services/collabora/settings";
import { MattermostService } from "../services/mattermost/settings";
import { NextcloudService } from "../services/nextcloud/settings";

/**
 * The services a stack may enable under `infra:services` (besides the proxy every host runs), as
 * declared in their `settings.ts`: zod schemas and declarations only, so validating a stack file loads
 * no component and no provider. The program builds them in the order their needs give
 * (stacks/dependencies.ts), not in the order of this list. Adding a service: its declaration here, its
 * component in stacks/registry.ts (the compiler checks that both lists agree).
 */
// Monitoring and the agent come after the other services: monitoring's probes are derived from the containers
// the services before it declared; both watch every container, read once the whole host is declared.
// The backup is last: it backs up the volumes every service before it declared (backup/component.ts).
export const SERVICE_CATALOG = [
  LdapService,
  MailService,
  MattermostService,
  NextcloudService,
  CollaboraService,
  AccountService,
  MonitoringService,
  AgentService,
  BackupService,
] as const;

export type CatalogEntry = (typeof SERVICE_CATALOG)[number];
export type ServiceName = CatalogEntry["name"];

/** `{ ldap: LdapSettings.optional(), ... }`: the shape of `infra:services` besides the proxy. */
export const serviceSchemas = Object.fromEntries(SERVICE_CATALOG.map((service) => [service.name, service.settings.optional()])) as {
  [D in CatalogEntry as D["name"]]: z.ZodOptional<D["settings"]>;
};
