import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { backupSummary, type BackupSummary } from "../backup/component";
import { HostProvisioning, type ProvisioningSummary } from "../hosts/component";
import { pinnedHostKeySshOptions } from "../hosts/settings";
import type { DirectoryEndpoint } from "../platform/directory";
import type { DnsRecord } from "../platform/dns";
import { HostContext } from "../platform/host-context";
import { registryHost } from "../platform/images-settings";
import type { Endpoints, ServiceArgs, ServiceDeclaration, ServiceOutputs } from "../platform/service";
import { Proxy } from "../services/proxy/component";
import { AGENT_PORT } from "../monitoring/agent-settings";
import { databaseExporters } from "../monitoring/database-exporters";
import type { WatchedHost } from "../platform/watched-host";
import { SERVICE_CATALOG, type CatalogEntry } from "./catalog";
import { buildOrder } from "./dependencies";
import { DIRECTORY_PASSWORDS_OUTPUT, readDirectoryStack, type DirectoryPasswords } from "./directory-stack";
import { SERVICE_COMPONENTS } from "./registry";
import { ConfigError, loadStackConfig, type StackConfig } from "./schema";
import { watchedHostsOfRun } from "./watched-hosts";

/** What a host stack exports (`pulumi stack output`), and what `npm run plan` prints besides resources. */
export interface HostOutputs {
  urls: string[];
  dns: DnsRecord[];
  /** What of this host's data is backed up, how, where and when (backup/component.ts). */
  backup: BackupSummary;
  /** Remote hosts only: what the machine itself is provisioned with over SSH (files, firewall, groups). */
  provisioning?: ProvisioningSummary;
  /** Where the directory runs: the service accounts' passwords the other hosts read (secret). */
  [DIRECTORY_PASSWORDS_OUTPUT]?: DirectoryPasswords;
  /** Where the agent runs: what the monitoring host scrapes and probes of this one (stacks/watched-hosts.ts). */
  watched?: WatchedHost;
}

/**
 * Build one host from its validated config: provider, proxy, then every enabled service, each after the
 * services it needs, receiving what they provide. `transformations` see every resource of the host (the
 * offline render records their options).
 */
export function defineHost(
  stackName: string,
  config: StackConfig,
  transformations: pulumi.ResourceTransformation[] = [],
  watchedHosts: readonly WatchedHost[] = [],
): pulumi.Output<HostOutputs> {
  const root = new HostComponent(stackName, transformations);
  // A host that reads another host's directory takes the service accounts' passwords from its stack.
  if (config.directoryStack) config = withDirectoryPasswords(config, readDirectoryStack(config.directoryStack, root));
  // Remote hosts (docker: ssh://...) get the machine itself prepared over SSH first: Docker installed and
  // the connection user in its group, logins, firewall, upgrades. The Docker provider waits for it.
  const provisioning = config.provisioning
    ? new HostProvisioning("host", { config, settings: config.provisioning }, { parent: root })
    : undefined;
  const provider = new docker.Provider(
    "docker",
    {
      host: config.docker,
      registryAuth: registryAuth(config),
      // The same host key as the provisioning connection: the engine's ssh client trusts nothing else.
      sshOpts: config.provisioning ? pinnedHostKeySshOptions(config.provisioning.hostKey) : undefined,
    },
    { parent: root, dependsOn: provisioning ? [provisioning.setup] : [] },
  );
  const context = new HostContext(
    {
      domain: config.domain,
      publicIpv4: config.publicIpv4,
      images: config.images,
      tls: config.services.proxy.tls,
      partners: config.partners,
      acmeEmail: config.acmeEmail,
      acme: config.acme,
      watchedHosts,
    },
    provider,
    root,
  );
  const { components, provided } = buildServices(context, config, root);
  // After the services. On a self-signed host (local), whose names public DNS does not know, the proxy
  // answers on the edge network to every name they are routed for, so that a container calling a public
  // URL of this host (Collabora calling Nextcloud back) reaches it. Production hosts reach their own names
  // through public DNS, and adding a partner there re-creates Collabora only, never the proxy.
  const selfSigned = config.services.proxy.tls === "self-signed";
  new Proxy(
    "proxy",
    {
      context,
      settings: config.services.proxy,
      acmeEmail: config.acmeEmail,
      aliases: selfSigned ? [...new Set(context.routedHosts)].sort() : [],
    },
    { parent: root },
  );
  const directoryPasswords = provided.directory && exportedPasswords(provided.directory);
  const watched = config.services.agent && watchedHost(stackName, config, context);

  if (provisioning) {
    // The hosts account's password: from the directory on this host, or the directory stack, or the stack file.
    const bindPassword = provided.directory?.serviceAccounts.hosts.password ?? config.provisioning?.bindPassword;
    // Unreachable from a valid stack (stacks/rules.ts directoryPasswordSources).
    if (bindPassword === undefined) throw new Error("provisioning.bindPassword: no source for the hosts account's password");
    provisioning.installBindPassword(bindPassword);
  }

  const urls = components.flatMap((c) => c.urls ?? []).sort();
  const addressRecords: DnsRecord[] = config.publicIpv4
    ? urls.map((url) => ({ name: new URL(url).hostname, type: "A", value: config.publicIpv4 as string }))
    : [];
  const dns = pulumi
    .all(components.map((c) => pulumi.output(c.dnsRecords ?? [])))
    .apply((lists) => [...addressRecords, ...lists.flat()].sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`)));
  const outputs = pulumi.output({
    urls,
    dns,
    backup: backupSummary(context.volumes, config.services.backup),
    ...(provisioning ? { provisioning: provisioning.summary } : {}),
    ...(directoryPasswords ? { [DIRECTORY_PASSWORDS_OUTPUT]: directoryPasswords } : {}),
    ...(watched ? { watched } : {}),
  });
  root.publish(outputs);
  return outputs as unknown as pulumi.Output<HostOutputs>;
}

/** What the monitoring host scrapes and probes of this one: read once every container of the host is declared. */
function watchedHost(stackName: string, config: StackConfig, context: HostContext): WatchedHost {
  const services = context.containers.filter((c) => c.service !== "agent");
  return {
    host: stackName,
    // Unreachable without it from a valid stack (stacks/rules.ts agentMonitoringHost).
    address: config.publicIpv4 ?? "",
    agentPort: AGENT_PORT,
    databaseExporters: databaseExporters(context.databases),
    routes: services.flatMap((c) =>
      c.routes.map((route) => ({ service: c.service, host: route.host, login: route.forwardAuth !== undefined })),
    ),
    ports: services.flatMap((c) => c.publishedPorts.map((port) => ({ service: c.service, port }))),
    jobs: [...context.jobs].sort(),
  };
}

/** The deploy token the host's engine pulls our images with; none where our images are built on the host. */
function registryAuth(config: StackConfig): docker.types.input.ProviderRegistryAuth[] | undefined {
  if ("build" in config.images) return undefined;
  const { username, password } = config.images.registryAuth;
  return [{ address: registryHost(config.images.registry), username, password }];
}

/** The passwords other hosts read from this one's stack: the mail senders' and the hosts' accounts. */
function exportedPasswords(directory: DirectoryEndpoint): pulumi.Output<DirectoryPasswords> {
  const accounts = directory.serviceAccounts;
  return pulumi.secret(
    pulumi
      .all([accounts.mattermost.password, accounts.nextcloud.password, accounts.hosts.password])
      .apply(([mattermost, nextcloud, hosts]): DirectoryPasswords => ({ mattermost, nextcloud, hosts })),
  );
}

/** The settings a directory stack provides (stacks/directory-stack.ts), filled in where this host has them. */
function withDirectoryPasswords(config: StackConfig, password: (account: keyof DirectoryPasswords) => pulumi.Output<string>): StackConfig {
  const { mattermost, nextcloud } = config.services;
  return {
    ...config,
    services: {
      ...config.services,
      ...(mattermost ? { mattermost: { ...mattermost, smtp: { ...mattermost.smtp, password: password("mattermost") } } } : {}),
      ...(nextcloud ? { nextcloud: { ...nextcloud, smtp: { ...nextcloud.smtp, password: password("nextcloud") } } } : {}),
    },
    provisioning: config.provisioning && { ...config.provisioning, bindPassword: password("hosts") },
  };
}

/** The enabled services in dependency order; each gets the endpoints it declared, from those built before it. */
function buildServices(
  context: HostContext,
  config: StackConfig,
  parent: pulumi.Resource,
): { components: ServiceOutputs[]; provided: Partial<Endpoints> } {
  const services = config.services as Partial<Record<CatalogEntry["name"], unknown>>;
  const enabled = SERVICE_CATALOG.filter((service) => services[service.name] !== undefined);
  const provided: Partial<Endpoints> = {};
  const components = buildOrder<ServiceDeclaration>(enabled).map((declaration) => {
    const endpoints = Object.fromEntries(
      Object.keys(declaration.needs ?? {})
        .filter((endpoint) => provided[endpoint as keyof Endpoints] !== undefined)
        .map((endpoint) => [endpoint, provided[endpoint as keyof Endpoints]]),
    );
    // One loop over services of different types: the catalog and registry types guarantee that each
    // component receives its own settings, and the stack rules that its required endpoints are there.
    const Component = SERVICE_COMPONENTS[declaration.name as CatalogEntry["name"]] as unknown as new (
      name: string,
      args: ServiceArgs<ServiceDeclaration>,
      opts: pulumi.ComponentResourceOptions,
    ) => ServiceOutputs;
    const component = new Component(
      declaration.name,
      { context, settings: services[declaration.name as CatalogEntry["name"]], endpoints },
      { parent },
    );
    Object.assign(provided, component.provides);
    return component;
  });
  return { components, provided };
}

/** The root of a host's resources; its outputs are the host's URLs and DNS records. */
class HostComponent extends pulumi.ComponentResource {
  constructor(name: string, transformations: pulumi.ResourceTransformation[]) {
    super("infra:host:Host", name, {}, { transformations });
  }

  publish(outputs: pulumi.Output<unknown>): void {
    this.registerOutputs({ outputs });
  }
}

/**
 * The Pulumi program: read the stack config, then build the host. A config mistake stops the run
 * before any resource is registered, with the list of problems and no stack trace.
 */
export function runProgram(isEncrypted?: (path: string) => boolean): pulumi.Output<HostOutputs> {
  let config: StackConfig;
  try {
    config = loadStackConfig(isEncrypted);
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
  // A monitoring host renders the hosts it watches from their stack files (stacks/watched-hosts.ts).
  return defineHost(pulumi.getStack(), config, [], watchedHostsOfRun(pulumi.getStack()));
}
