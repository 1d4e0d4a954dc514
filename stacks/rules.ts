import { sshTarget } from "../hosts/settings";
import { DNS_PROVIDER_VARIABLES, looksSecret, reservedVariable } from "../platform/acme-settings";
import type { ServiceDeclaration } from "../platform/service";
import { MAIL_SENDERS, MISSING_SMTP_PASSWORD } from "../platform/smtp-client";
import { tenantAddresses, type PartnerConfig } from "../platform/tenants";
import { SERVICE_CATALOG } from "./catalog";
import { missingDependencies, type ConfigProblem } from "./dependencies";
import { monitoringHostAddress } from "./watched-hosts";

/**
 * The rules of a stack file that one setting's schema cannot check alone: each a pure function from
 * the parsed settings (only the part it reads) to the problems it finds, each problem with its key path
 * and a message that says how to fix it. The stack schema (stacks/schema.ts) applies them all, so every
 * mistake is reported together; tests/unit/foundation/rules.test.ts holds a table per rule.
 */

export type { ConfigProblem };

/** Two partners with the same domain or id (checked on the list, so reported even when other settings are wrong). */
export function duplicatePartners(partners: readonly Pick<PartnerConfig, "id" | "domain">[]): ConfigProblem[] {
  return partners.flatMap((partner, index) => {
    const problems: ConfigProblem[] = [];
    const first = partners.findIndex((p) => p.domain === partner.domain);
    if (first !== index) problems.push({ path: [index, "domain"], message: `duplicate domain; already used by partners.${first}` });
    if (partners.findIndex((p) => p.id === partner.id) !== index) {
      problems.push({ path: [index, "id"], message: "duplicate id; each partner needs its own" });
    }
    return problems;
  });
}

/** A partner may not take the domain of the association's own Nextcloud (`cloud.<domain>`). */
export function partnerOnAssociationDomain(stack: { domain: string; partners: readonly PartnerConfig[] }): ConfigProblem[] {
  const own = tenantAddresses(stack)[0].domain;
  return stack.partners.flatMap((partner, index) =>
    partner.domain === own
      ? [{ path: ["partners", index, "domain"], message: "duplicate domain; already used by the association's own Nextcloud" }]
      : [],
  );
}

/** The settings by which a service takes its certificate from the host's ACME settings (`infra:acme`). */
interface AcmeChoices {
  ldap?: { tls: string };
  mail?: { tls: { source: string } };
}

/** Which of the directory and the mail server take their certificate from `infra:acme`, as setting paths. */
export function acmeCertificateUsers(services: AcmeChoices): string[] {
  return [
    ...(services.ldap?.tls === "acme" ? ["services.ldap.tls"] : []),
    ...(services.mail?.tls.source === "acme" ? ["services.mail.tls.source"] : []),
  ];
}

/** Let's Encrypt needs a contact address, for the proxy's account and for the directory's and mail's. */
export function acmeNeedsEmail(stack: { acmeEmail?: string; services: { proxy: { tls: string } } & AcmeChoices }): ConfigProblem[] {
  const users = [...(stack.services.proxy.tls === "acme" ? ["services.proxy.tls"] : []), ...acmeCertificateUsers(stack.services)];
  return users.length > 0 && !stack.acmeEmail ? [{ path: ["acmeEmail"], message: `required when ${users[0]} is 'acme'` }] : [];
}

/** A certificate from ACME needs to know how to prove the name: the registrar's DNS API and its credentials. */
export function acmeSettingsPresent(stack: { acme?: unknown; services: AcmeChoices }): ConfigProblem[] {
  const users = acmeCertificateUsers(stack.services);
  if (users.length === 0 || stack.acme !== undefined) return [];
  return [
    {
      path: ["acme"],
      message:
        `required when ${users.join(" or ")} is 'acme': name the registrar's DNS API in acme.dns.provider (ovh, ...) ` +
        "with its credentials (docs/contracts.md, Certificates), or choose self-signed",
    },
  ];
}

/**
 * The DNS provider's variables: those lego needs for the providers we know, secrets only among the
 * encrypted credentials, each name once, none of the container's own.
 */
export function acmeDnsVariables(stack: {
  acme?: { dns: { provider: string; env: Record<string, unknown>; credentials: Record<string, unknown> } };
}): ConfigProblem[] {
  if (stack.acme === undefined) return [];
  const { provider, env, credentials } = stack.acme.dns;
  const known = DNS_PROVIDER_VARIABLES[provider];
  const setSecret = (name: string) => `pulumi config set --secret --path 'infra:acme.dns.credentials.${name}' ...`;
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(env)) {
    const path = ["acme", "dns", "env", name];
    if (reservedVariable(name)) problems.push({ path, message: "is set by the ACME container itself; remove it" });
    else if (name in credentials) problems.push({ path, message: "also set in acme.dns.credentials; keep one" });
    else if (looksSecret(name) || known?.secret.includes(name)) {
      problems.push({ path, message: `holds a secret: move it to acme.dns.credentials, encrypted (${setSecret(name)})` });
    }
  }
  for (const name of Object.keys(credentials).filter(reservedVariable)) {
    problems.push({ path: ["acme", "dns", "credentials", name], message: "is set by the ACME container itself; remove it" });
  }
  for (const name of known?.required ?? []) {
    if (name in env || name in credentials) continue;
    problems.push(
      known?.secret.includes(name)
        ? { path: ["acme", "dns", "credentials", name], message: `required by lego's ${provider} provider (${setSecret(name)})` }
        : { path: ["acme", "dns", "env", name], message: `required by lego's ${provider} provider` },
    );
  }
  return problems;
}

/** A remote host (docker: ssh://...) is provisioned over SSH and needs its settings; the local machine is not. */
export function provisioningMatchesHost(stack: { docker: string; provisioning?: unknown }): ConfigProblem[] {
  const remote = sshTarget(stack.docker) !== undefined;
  if (remote && stack.provisioning === undefined) {
    return [{ path: ["provisioning"], message: "required when docker is ssh://... (the host is provisioned over SSH)" }];
  }
  if (!remote && stack.provisioning !== undefined) {
    return [{ path: ["provisioning"], message: "only for remote hosts (docker: ssh://...); remove it from this stack" }];
  }
  return [];
}

/**
 * A service that sends mail on a host without the directory, and without `directoryStack` to read the
 * password from, needs its account's password in the stack file.
 */
export function smtpPasswordWithoutDirectory(stack: {
  directoryStack?: string;
  services: Partial<Record<string, unknown>> & { ldap?: unknown };
}): ConfigProblem[] {
  if (stack.services.ldap !== undefined || stack.directoryStack !== undefined) return [];
  return MAIL_SENDERS.filter((service) => {
    const settings = stack.services[service] as { smtp: { password?: unknown } } | undefined;
    return settings !== undefined && settings.smtp.password === undefined;
  }).map((service) => ({ path: ["services", service, "smtp", "password"], message: MISSING_SMTP_PASSWORD }));
}

/**
 * Each service account password has one source: the directory on this host, or the directory's stack
 * (`directoryStack`), or, where neither exists, the stack file. A value written in the file where another
 * source exists would silently lose against it, so it is refused.
 */
export function directoryPasswordSources(stack: {
  docker: string;
  directoryStack?: string;
  services: Partial<Record<string, unknown>> & { ldap?: unknown };
  provisioning?: { bindPassword?: unknown };
}): ConfigProblem[] {
  const local = stack.services.ldap !== undefined;
  if (local && stack.directoryStack !== undefined) {
    return [{ path: ["directoryStack"], message: "this host runs the directory itself (services.ldap); remove directoryStack" }];
  }
  const source = local
    ? "the directory on this host (services.ldap)"
    : stack.directoryStack && `the directory's stack (directoryStack: ${stack.directoryStack})`;
  const problems: ConfigProblem[] = [];
  if (stack.provisioning) {
    if (source && stack.provisioning.bindPassword !== undefined) {
      problems.push({ path: ["provisioning", "bindPassword"], message: `comes from ${source}; remove it from the stack file` });
    }
    if (!source && stack.provisioning.bindPassword === undefined) {
      problems.push({
        path: ["provisioning", "bindPassword"],
        message:
          "required: the hosts account's password (pulumi config set --secret --path ...), or name the directory's stack in directoryStack",
      });
    }
  }
  if (stack.directoryStack !== undefined) {
    for (const service of MAIL_SENDERS) {
      const settings = stack.services[service] as { smtp: { password?: unknown } } | undefined;
      if (settings?.smtp.password !== undefined) {
        problems.push({ path: ["services", service, "smtp", "password"], message: `comes from ${source}; remove it from the stack file` });
      }
    }
  }
  return problems;
}

/** On a host that pulls our images from the registry, each image an enabled service runs must be pinned. */
export function ownImagesPinned(stack: {
  images: { build: true } | { pins: Record<string, string> };
  services: Partial<Record<string, unknown>>;
}): ConfigProblem[] {
  if ("build" in stack.images) return [];
  const pins = stack.images.pins;
  const catalog: readonly ServiceDeclaration[] = SERVICE_CATALOG;
  return catalog
    .filter((service) => stack.services[service.name] !== undefined)
    .flatMap((service) => service.ownImages ?? [])
    .filter((image) => !pins[image])
    .map((image) => ({
      path: ["images", "pins", image],
      message: "required: this host runs the image; CI writes the pin after building it (npx tsx ci/pin-image.ts --add, see ci/README.md)",
    }));
}

/** Every enabled service finds what it requires on the same host. */
export function dependenciesPresent(stack: { services: Partial<Record<string, unknown>> }): ConfigProblem[] {
  const enabled = SERVICE_CATALOG.filter((service) => stack.services[service.name] !== undefined);
  return missingDependencies(enabled, SERVICE_CATALOG);
}

/** A probe override (`services.monitoring.probes.<service>`) names a service this host runs, or the proxy. */
export function probeOverridesKnown(stack: { services: Partial<Record<string, unknown>> }): ConfigProblem[] {
  const monitoring = stack.services.monitoring as { probes?: Record<string, unknown> } | undefined;
  const running = ["proxy", ...SERVICE_CATALOG.map((service) => service.name).filter((name) => stack.services[name] !== undefined)];
  return Object.keys(monitoring?.probes ?? {})
    .filter((service) => !running.includes(service))
    .map((service) => ({
      path: ["services", "monitoring", "probes", service],
      message: `unknown service '${service}'; expected one of this host's services: ${running.join(", ")}`,
    }));
}

/**
 * The metrics UI logs in through the account page's tech login: asking for it (`ui.enabled: true`) on a host
 * without the account page is a mistake. Left unset, it is simply served wherever both run.
 */
export function metricsUiNeedsLogin(stack: { services: Partial<Record<string, unknown>> }): ConfigProblem[] {
  const monitoring = stack.services.monitoring as { ui?: { enabled?: boolean } } | undefined;
  if (monitoring?.ui?.enabled !== true || stack.services.account !== undefined) return [];
  return [
    {
      path: ["services", "monitoring", "ui", "enabled"],
      message:
        "the metrics UI logs in through the account page's tech login, which this host does not run: enable services.account here, or remove ui.enabled",
    },
  ];
}

/**
 * The agent (`services.agent`) names a stack of this repository that runs monitoring and has a public address
 * (read from its file: stacks/watched-hosts.ts); the watched host has one too, where it is scraped and probed;
 * and a host with its own monitoring needs no agent.
 */
export function agentMonitoringHost(stack: {
  publicIpv4?: string;
  services: { agent?: { monitoringHost: string }; monitoring?: unknown };
}): ConfigProblem[] {
  const agent = stack.services.agent;
  if (!agent) return [];
  if (stack.services.monitoring !== undefined) {
    return [{ path: ["services", "agent"], message: "not needed where monitoring runs: it watches its own host" }];
  }
  const problems: ConfigProblem[] = [];
  if (!stack.publicIpv4) {
    problems.push({
      path: ["publicIpv4"],
      message: "required with services.agent: the monitoring host scrapes and probes this host there",
    });
  }
  const found = monitoringHostAddress(agent.monitoringHost);
  if ("problem" in found) problems.push({ path: ["services", "agent", "monitoringHost"], message: found.problem });
  return problems;
}

/** The rules the stack schema applies to a whole stack, in the order their problems are listed. */
export const STACK_RULES = [
  partnerOnAssociationDomain,
  acmeNeedsEmail,
  acmeSettingsPresent,
  acmeDnsVariables,
  provisioningMatchesHost,
  smtpPasswordWithoutDirectory,
  directoryPasswordSources,
  ownImagesPinned,
  dependenciesPresent,
  probeOverridesKnown,
  metricsUiNeedsLogin,
  agentMonitoringHost,
] as const;
