import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { Directory, LdapSettings } from "../ldap/component";
import { MailServer, MailSettings } from "../mail/component";
import { Collabora, CollaboraSettings } from "./collabora";
import type { Host } from "./host";
import { Mattermost, MattermostSettings } from "./mattermost";
import { Nextcloud, NextcloudSettings } from "./nextcloud";

/**
 * The services a stack may enable under `infra:services`, besides the proxy every host runs.
 * Each entry pairs the service's settings schema with the function that builds its component:
 * adding a service to the project is adding one entry here (see README, "Add a service").
 */
export interface ServiceModule<Settings extends z.ZodType> {
  settings: Settings;
  /** Our own images the service runs: production stacks must pin each (infra:images.pins). */
  ownImages?: readonly string[];
  create(host: Host, settings: z.output<Settings>, parent: pulumi.Resource): pulumi.ComponentResource;
}

function service<Settings extends z.ZodType>(module: ServiceModule<Settings>): ServiceModule<Settings> {
  return module;
}

export const serviceModules = {
  // The directory first: the services after it read host.directory.
  ldap: service({ settings: LdapSettings, ownImages: ["ldap"], create: (host, settings, parent) => new Directory("ldap", { host, settings }, { parent }) }),
  // Mail reads host.directory and sets host.mail for the web services below.
  mail: service({ settings: MailSettings, ownImages: ["mail-postfix", "mail-dovecot", "mail-rspamd", "mail-mta-sts"], create: (host, settings, parent) => new MailServer("mail", { host, settings }, { parent }) }),
  // Web services read host.directory and host.mail: keep them after the ldap and mail entries.
  mattermost: service({ settings: MattermostSettings, create: (host, settings, parent) => new Mattermost("mattermost", { host, settings }, { parent }) }),
  nextcloud: service({ settings: NextcloudSettings, create: (host, settings, parent) => new Nextcloud("nextcloud", { host, settings }, { parent }) }),
  collabora: service({ settings: CollaboraSettings, create: (host, settings, parent) => new Collabora("collabora", { host, settings }, { parent }) }),
} satisfies Record<string, ServiceModule<z.ZodType>>;

type Modules = typeof serviceModules;

/** `{ ldap: LdapSettings.optional(), ... }`: the shape of `infra:services` besides the proxy. */
export const serviceSchemas = Object.fromEntries(
  Object.entries(serviceModules).map(([name, module]) => [name, (module as ServiceModule<z.ZodType>).settings.optional()]),
) as { [K in keyof Modules]: z.ZodOptional<Modules[K]["settings"]> };
