import { createHash } from "node:crypto";
import { remote, type types } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../services/config";
import {
  ACCESS_GROUPS,
  PACKAGES,
  STAGING_FOLDER,
  hashHostFiles,
  hostRenderInput,
  renderHostFiles,
  sha256,
  type FirewallPort,
  type HostFile,
} from "./render";
import { sshTarget, type HostProvisioningConfig } from "./settings";

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
export function provisioningSummary(config: StackConfig, settings: HostProvisioningConfig): ProvisioningSummary {
  const target = requireSshTarget(config);
  const input = hostRenderInput(config, settings);
  return {
    ssh: `${target.user}@${target.host}:${target.port}`,
    stagingDir: stagingDir(target.user),
    directory: { url: input.directoryUrl, bindDn: `cn=hosts,ou=services,${input.baseDn}` },
    packages: [...PACKAGES, "docker.io"],
    files: renderHostFiles(input).map((f) => ({ name: f.name, target: f.target, mode: f.mode, sha256: sha256(f.content) })),
    firewall: input.firewall,
    groups: Object.entries(ACCESS_GROUPS).map(([group, access]) => ({ group, access })),
  };
}

export interface HostProvisioningArgs {
  /** The stack's validated config; its `docker` URL must be ssh://user@host[:port]. */
  config: StackConfig;
  settings: HostProvisioningConfig;
}

/**
 * Prepares a remote Debian host over SSH: copies the files rendered by hosts/render.ts to a staging
 * folder, runs setup.sh (packages, sssd against the directory, sshd with keys from the directory,
 * sudo for admins, docker group for tech, nftables, unattended upgrades), then installs the directory
 * bind password, which travels on stdin and never lands in a staged file.
 *
 * Each copy re-runs when its file's content hash changes, setup.sh when any file changes, the password
 * step when the password changes: a second `pulumi up` with the same config does nothing. Removing the
 * component leaves the host as it is (there is no `delete` command: un-provisioning is done by hand).
 */
export class HostProvisioning extends pulumi.ComponentResource {
  readonly summary: ProvisioningSummary;

  constructor(name: string, args: HostProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infra:host:Provisioning", name, {}, opts);
    const { config, settings } = args;
    const target = requireSshTarget(config);
    const files = renderHostFiles(hostRenderInput(config, settings));
    this.summary = provisioningSummary(config, settings);

    const connection: types.input.remote.ConnectionArgs = {
      host: target.host,
      port: target.port,
      user: target.user,
      // Without a key in the config, the provider uses the SSH agent (SSH_AUTH_SOCK).
      privateKey: settings.privateKey,
      hostKey: settings.hostKey,
    };
    const staging = stagingDir(target.user);
    const asRoot = target.user === "root" ? "" : "sudo -n ";

    const copies = files.map((file) => copyFile(name, file, staging, connection, this));

    const setup = new remote.Command(
      `${name}-setup`,
      {
        connection,
        create: `${asRoot}sh ${staging}/setup.sh ${staging}`,
        triggers: [hashHostFiles(files)],
      },
      { parent: this, dependsOn: copies },
    );

    new remote.Command(
      `${name}-directory-bind-password`,
      {
        connection,
        create: `${asRoot}sh ${staging}/install-bind-password.sh`,
        stdin: settings.bindPassword,
        // A hash of the password (kept secret too) so that a new password re-runs this step.
        triggers: [pulumi.secret(pulumi.output(settings.bindPassword).apply((p) => createHash("sha256").update(p).digest("hex")))],
      },
      { parent: this, dependsOn: [setup] },
    );

    this.registerOutputs({ summary: this.summary });
  }
}

function copyFile(
  name: string,
  file: HostFile,
  staging: string,
  connection: types.input.remote.ConnectionArgs,
  parent: pulumi.Resource,
): remote.CopyToRemote {
  return new remote.CopyToRemote(
    `${name}-file-${file.name}`,
    {
      connection,
      source: new pulumi.asset.StringAsset(file.content),
      remotePath: `${staging}/${file.name}`,
      triggers: [sha256(file.content)],
    },
    { parent },
  );
}

function stagingDir(user: string): string {
  return user === "root" ? `/root/${STAGING_FOLDER}` : `/home/${user}/${STAGING_FOLDER}`;
}

function requireSshTarget(config: StackConfig) {
  const target = sshTarget(config.docker);
  if (!target) throw new Error(`HostProvisioning needs an ssh:// docker host; got ${config.docker}`);
  return target;
}
