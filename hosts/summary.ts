import { serviceAccountDn } from "../platform/directory";
import { ACCESS_GROUPS, PACKAGES, STAGING_FOLDER, hostRenderInput, renderHostFiles, sha256, type FirewallPort } from "./render";
import { sshTarget, type HostProvisioningConfig, type ProvisionedHost, type SshTarget } from "./settings";

/** What `npm run plan` prints for a remote host, and what the stack exports as `provisioning`. */
export interface ProvisioningSummary {
  /** user@host:port Pulumi connects to. */
  ssh: string;
  /** Folder (in the connection user's home) the files are copied to before setup.sh installs them. */
  stagingDir: string;
  directory: { url: string; bindDn: string };
  packages: string[];
  /** Each file with where it is installed and the SHA-256 of its content (compare with `sha256sum`). */
  files: { name: string; target: string | null; mode: string; sha256: string }[];
  firewall: FirewallPort[];
  /** Directory groups that give access, and what they give. */
  groups: { group: string; access: string }[];
}

/** The summary of a remote stack's provisioning: a pure function of its config (no resources). */
export function provisioningSummary(config: ProvisionedHost, settings: HostProvisioningConfig): ProvisioningSummary {
  const target = requireSshTarget(config);
  const input = hostRenderInput(config, settings);
  return {
    ssh: `${target.user}@${target.host}:${target.port}`,
    stagingDir: stagingDir(target.user),
    directory: { url: input.directoryUrl, bindDn: serviceAccountDn("hosts", input.baseDn) },
    packages: [...PACKAGES, "docker.io"],
    files: renderHostFiles(input).map((f) => ({ name: f.name, target: f.target, mode: f.mode, sha256: sha256(f.content) })),
    firewall: input.firewall,
    groups: Object.entries(ACCESS_GROUPS).map(([group, access]) => ({ group, access })),
  };
}

/** The summary as plan text lines: where Pulumi connects, the files with their hashes, ports, groups. */
export function provisioningLines(summary: ProvisioningSummary): string[] {
  return [
    `Host provisioning over SSH (${summary.ssh}), directory ${summary.directory.url}:`,
    "  files (sha256, as `sha256sum` prints it on the host):",
    ...summary.files.map(
      (f) => `    ${f.sha256.slice(0, 12)}  ${f.mode}  ${f.target ?? `${summary.stagingDir}/${f.name} (run from staging)`}`,
    ),
    "  firewall (new TCP connections; everything else dropped):",
    ...summary.firewall.map((p) => `    ${p.port}  ${p.purpose}${p.from ? ` from ${p.from.join(", ")}` : ""}`),
    "  directory groups:",
    ...summary.groups.map((g) => `    ${g.group}: ${g.access}`),
  ];
}

/** Where the files are copied: a folder in the connection user's home, which that user can write. */
export function stagingDir(user: string): string {
  return user === "root" ? `/root/${STAGING_FOLDER}` : `/home/${user}/${STAGING_FOLDER}`;
}

/** The SSH target of a remote stack; a local stack here is a bug in the caller (stacks/rules.ts rejects it). */
export function requireSshTarget(config: ProvisionedHost): SshTarget {
  const target = sshTarget(config.docker);
  if (!target) throw new Error(`HostProvisioning needs an ssh:// docker host; got ${config.docker}`);
  return target;
}
