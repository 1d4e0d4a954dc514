import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { HostProvisioning, type ProvisioningSummary } from "../hosts/component";
import { ConfigError, loadStackConfig, type StackConfig } from "../services/config";
import { Host, type DnsRecord } from "../services/host";
import { Proxy } from "../services/proxy";
import { serviceModules, type ServiceModule } from "../services/registry";

/** What a host stack exports (`pulumi stack output`), and what `npm run plan` prints besides resources. */
export interface HostOutputs {
  urls: string[];
  dns: DnsRecord[];
  /** Remote hosts only: what the machine itself is provisioned with over SSH (files, firewall, groups). */
  provisioning?: ProvisioningSummary;
}

/** Services that publish DNS records or URLs expose them on their component. */
interface Publishing {
  urls?: string[];
  dnsRecords?: pulumi.Input<DnsRecord[]>;
}

/**
 * Build one host from its validated config: provider, proxy, then every enabled service.
 * `transformations` see every resource of the host (the offline render records their options).
 */
export function defineHost(
  stackName: string,
  config: StackConfig,
  transformations: pulumi.ResourceTransformation[] = [],
): pulumi.Output<HostOutputs> {
  const root = new HostComponent(stackName, transformations);
  const provider = new docker.Provider("docker", { host: config.docker }, { parent: root });
  const host = new Host(config, provider, root);
  new Proxy("proxy", { host, settings: config.services.proxy }, { parent: root });

  const components: Publishing[] = [];
  for (const [name, module] of Object.entries(serviceModules) as [string, ServiceModule<z.ZodType>][]) {
    const settings = (config.services as Record<string, unknown>)[name];
    if (settings !== undefined) components.push(module.create(host, settings, root) as Publishing);
  }

  // Remote hosts (docker: ssh://...) also get the machine itself prepared over SSH: logins, firewall, upgrades.
  const provisioning = config.provisioning
    ? new HostProvisioning("host", { config, settings: config.provisioning }, { parent: root }).summary
    : undefined;

  const urls = components.flatMap((c) => c.urls ?? []).sort();
  const addressRecords: DnsRecord[] = config.publicIpv4
    ? urls.map((url) => ({ name: new URL(url).hostname, type: "A", value: config.publicIpv4 as string }))
    : [];
  const dns = pulumi
    .all(components.map((c) => pulumi.output(c.dnsRecords ?? [])))
    .apply((lists) => [...addressRecords, ...lists.flat()].sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`)));
  const outputs = pulumi.output({ urls, dns, ...(provisioning ? { provisioning } : {}) });
  root.publish(outputs);
  return outputs as unknown as pulumi.Output<HostOutputs>;
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
  return defineHost(pulumi.getStack(), config);
}
