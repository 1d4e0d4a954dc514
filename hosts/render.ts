import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseDnOf, LDAPS_PORT } from "../platform/directory";
import { hashContent } from "../platform/hash";
import { sshTarget, type HostProvisioningConfig, type ProvisionedHost } from "./settings";

/**
 * The files a remote host receives, rendered from hosts/templates/ by pure functions of the stack
 * config. The HostProvisioning component ships exactly these, and the integration tests configure their
 * test host with exactly these too. Templates are `<file name>.tmpl` with `{{name}}` placeholders (the
 * .tmpl keeps the lint from shellchecking unrendered scripts; the unit tests shellcheck rendered ones).
 */

export const TEMPLATES_DIR = path.join(__dirname, "templates");

/** Where the connection user's copies land before setup.sh installs them (below the user's home). */
export const STAGING_FOLDER = "infra-host";

/** The system user sshd runs the keys command as; with root, the only reader of the bind password. */
export const KEYS_USER = "directory-keys";

/** The setup steps, in the order a full run does them (see templates/setup.sh). */
export const SETUP_STEPS = ["packages", "accounts", "files", "pam", "firewall", "services"] as const;

/** Debian packages every host needs (the Docker engine is added by setup.sh unless one is installed). */
export const PACKAGES = [
  "sssd-ldap",
  "libpam-sss",
  "libnss-sss",
  "sudo",
  "ldap-utils",
  "ca-certificates",
  "nftables",
  "unattended-upgrades",
  // The tech group's restricted Docker API (docker-tech-api.cfg).
  "haproxy",
];

/** Directory groups and what they give on a host. */
export const ACCESS_GROUPS = {
  tech: "log in with their directory SSH keys while assoAccessEnd is ahead; docker-tech: containers' status, logs and restart, nothing else",
  admins: "log in likewise; sudo (with their directory password); the docker group (the whole engine)",
} as const;

export const WEB_PORTS = [
  { port: 80, purpose: "http" },
  { port: 443, purpose: "https" },
];

export interface FirewallPort {
  port: number;
  purpose: string;
  /** Source addresses allowed; anyone when absent. */
  from?: string[];
}

/** Everything the templates depend on: a host's files change when, and only when, this changes. */
export interface HostRenderInput {
  /** Base DN of the directory: dc=asso,dc=localhost for asso.localhost. */
  baseDn: string;
  /** ldaps://host[:port] as this host reaches the directory. */
  directoryUrl: string;
  /** PEM certificate of the directory's CA; the system's CAs when absent. */
  directoryCaCertificate?: string;
  /** Local accounts that keep their ~/.ssh/authorized_keys (the account Pulumi connects as). */
  localUsers: string[];
  /** TCP ports open to the outside. */
  firewall: FirewallPort[];
}

export interface HostFile {
  /** File name in the staging folder (its template is hosts/templates/<name>.tmpl). */
  name: string;
  /** Where setup.sh installs it; null for the scripts that only run from the staging folder. */
  target: string | null;
  /** Octal mode of the installed file (owner root:root). */
  mode: string;
  content: string;
}

/**
 * The ports a host opens: SSH (on the port of the stack's ssh:// URL), HTTP(S), the mail ports where mail runs,
 * LDAPS to the directory's clients and the agent's port to the monitoring host where they run.
 */
export function firewallPorts(config: Pick<ProvisionedHost, "docker" | "services" | "provisioning" | "agent">): FirewallPort[] {
  const ssh = { port: sshTarget(config.docker)?.port ?? 22, purpose: "ssh" };
  return [ssh, ...WEB_PORTS, ...mailPorts(config.services), ...directoryPorts(config), ...agentPorts(config)].sort(
    (a, b) => a.port - b.port,
  );
}

/** The monitoring agent's ports where it runs, for the monitoring host only (monitoring/agent.ts). */
function agentPorts(config: Pick<ProvisionedHost, "agent">): FirewallPort[] {
  const agent = config.agent;
  if (!agent) return [];
  return agent.ports.map((port) => ({ port, purpose: "metrics (the monitoring host's scrapes)", from: [agent.monitoringAddress] }));
}

/** LDAPS where the directory publishes it, for the listed hosts only (none listed: closed). */
function directoryPorts(config: Pick<ProvisionedHost, "services" | "provisioning">): FirewallPort[] {
  const ldap = config.services.ldap;
  const clients = config.provisioning?.directoryClients ?? [];
  if (!ldap?.publishLdaps || clients.length === 0) return [];
  return [{ port: LDAPS_PORT, purpose: "ldaps (other hosts' sssd)", from: [...clients].sort() }];
}

/** The host ports the mail service publishes, read from its settings; none where mail does not run. */
function mailPorts(services: ProvisionedHost["services"]): FirewallPort[] {
  const mail = services.mail;
  if (mail === undefined) return [];
  return Object.entries(mail.ports)
    .filter((entry): entry is [string, number] => typeof entry[1] === "number")
    .map(([purpose, port]) => ({ port, purpose }));
}

/** What a remote stack's host is rendered from. */
export function hostRenderInput(config: ProvisionedHost, provisioning: HostProvisioningConfig): HostRenderInput {
  const target = sshTarget(config.docker);
  if (!target) throw new Error(`not a remote host: ${config.docker}`);
  return {
    baseDn: baseDnOf(config.domain),
    directoryUrl: provisioning.directoryUrl,
    directoryCaCertificate: provisioning.directoryCaCertificate,
    localUsers: [target.user],
    firewall: firewallPorts(config),
  };
}

const CA_FILE = "/etc/infra-host/directory-ca.crt";
const SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt";

/** The files of one host, in install order; setup.sh installs each one that has a target. */
export function renderHostFiles(input: HostRenderInput): HostFile[] {
  const values: Record<string, string> = {
    baseDn: input.baseDn,
    directoryUrl: input.directoryUrl,
    caFile: input.directoryCaCertificate ? CA_FILE : SYSTEM_CA_FILE,
    keysUser: KEYS_USER,
    localUsers: input.localUsers.join(","),
    dockerGroupLines: input.localUsers
      .map(
        (user) =>
          `  if getent -s files passwd ${user} >/dev/null && ! id -nG ${user} | tr ' ' '\\n' | grep -qx docker; then usermod -aG docker ${user}; fi`,
      )
      .join("\n"),
    tcpRules: tcpRules(input.firewall),
    steps: SETUP_STEPS.join(" "),
    packages: PACKAGES.join(" "),
  };
  const file = (name: string, target: string | null, mode: string): HostFile => ({
    name,
    target,
    mode,
    content: fill(name, readTemplate(name), values),
  });
  const installed: HostFile[] = [
    ...(input.directoryCaCertificate
      ? [{ name: "directory-ca.crt", target: CA_FILE, mode: "0644", content: input.directoryCaCertificate.trim() + "\n" }]
      : []),
    file("sssd.conf", "/etc/sssd/sssd.conf", "0600"),
    file("directory-authorized-keys", "/usr/local/sbin/directory-authorized-keys", "0755"),
    file("sshd-directory-logins.conf", "/etc/ssh/sshd_config.d/50-directory-logins.conf", "0644"),
    file("sudoers-admins", "/etc/sudoers.d/50-admins", "0440"),
    file("group.conf", "/etc/security/group.conf", "0644"),
    file("pam-docker-group", "/usr/share/pam-configs/infra-docker-group", "0644"),
    file("docker-tech-api.cfg", "/etc/haproxy/haproxy.cfg", "0644"),
    file("docker-tech-api.sh", "/etc/profile.d/docker-tech-api.sh", "0644"),
    file("nftables.conf", "/etc/nftables.conf", "0755"),
    file("unattended-upgrades.conf", "/etc/apt/apt.conf.d/52infra-unattended-upgrades", "0644"),
  ];
  const installLines = installed.map((f) => `  install_file ${f.name} ${f.target} ${f.mode}`).join("\n");
  return [
    ...installed,
    {
      name: "setup.sh",
      target: null,
      mode: "0755",
      content: fill("setup.sh", readTemplate("setup.sh"), { ...values, installFiles: installLines }),
    },
    file("install-bind-password.sh", null, "0755"),
  ];
}

/** SHA-256 of one file's content: what `sha256sum` prints for the installed file on the host. */
export function sha256(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Hash of all the files with their targets and modes: the setup command re-runs when it changes. */
export function hashHostFiles(files: HostFile[]): string {
  return hashContent(Object.fromEntries(files.map((f) => [f.name, `${f.target ?? ""}\0${f.mode}\0${f.content}`])));
}

/** nftables accept rules: the ports open to anyone in one set, then one rule per source-restricted port. */
function tcpRules(ports: FirewallPort[]): string {
  const open = ports.filter((p) => !p.from).map((p) => p.port);
  const restricted = ports.filter((p) => p.from).map((p) => `\t\tip saddr { ${p.from?.join(", ")} } tcp dport ${p.port} accept`);
  return [`\t\ttcp dport { ${open.join(", ")} } accept`, ...restricted].join("\n");
}

function readTemplate(name: string): string {
  return fs.readFileSync(path.join(TEMPLATES_DIR, `${name}.tmpl`), "utf8");
}

/** Replace every `{{name}}`; a placeholder without a value is a bug in this file, not in the config. */
export function fill(templateName: string, template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`hosts/templates/${templateName}.tmpl: no value for {{${key}}}`);
    return values[key];
  });
}
