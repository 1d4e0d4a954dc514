import { createHash } from "node:crypto";
import { remote, type types } from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hashHostFiles, hostRenderInput, renderHostFiles, sha256, type HostFile } from "./render";
import type { HostProvisioningConfig, ProvisionedHost } from "./settings";
import { provisioningSummary, requireSshTarget, stagingDir, type ProvisioningSummary } from "./summary";

export type { ProvisioningSummary };

export interface HostProvisioningArgs {
  /** The stack's validated config; its `docker` URL must be ssh://user@host[:port]. */
  config: ProvisionedHost;
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
