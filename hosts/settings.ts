import { z } from "zod";
import { ldapsUrl } from "../platform/directory";
import { secretSetting } from "../platform/settings";

/**
 * `infra:provisioning`: how Pulumi prepares a remote host (a stack whose `docker` is `ssh://...`) over SSH,
 * and where that host's logins come from. Required on remote hosts, absent on `local`.
 *
 * Connection: Pulumi connects as the user of the `docker` URL (a local account with passwordless sudo,
 * created once by hand when the machine is installed). It authenticates with `privateKey` when set,
 * otherwise with the SSH agent (`SSH_AUTH_SOCK`), like the Docker provider does.
 */
const HOST_KEY_MISSING =
  "required: the host's public SSH key, so that Pulumi talks to no other server (ssh-keyscan -t ed25519 HOST, without the host name)";

export const HostProvisioningSettings = z.strictObject({
  /** The directory as this host reaches it, over LDAPS only: e.g. `ldaps://ldap.example.org:636`. */
  directoryUrl: ldapsUrl(),
  /** PEM certificate of the authority that signed the directory's certificate; the system's CAs when omitted. */
  directoryCaCertificate: z
    .string()
    .regex(/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, { error: "expected a PEM certificate" })
    .optional(),
  /**
   * Password of the hosts' read-only directory account `cn=hosts,ou=services,<base>`, only where it comes
   * from nowhere else: a host that runs the directory uses its own, a host with `infra:directoryStack`
   * reads it from that stack.
   */
  bindPassword: secretSetting().optional(),
  /**
   * Where this host publishes the directory (services.ldap.publishLdaps): the addresses of the other
   * hosts whose sssd may connect to LDAPS (636). Nobody else can. Default: none (port closed).
   */
  directoryClients: z.array(z.ipv4({ error: "expected an IPv4 address such as 203.0.113.11" })).default([]),
  /** Private key (OpenSSH PEM) Pulumi connects with; the SSH agent is used when omitted. */
  privateKey: secretSetting().optional(),
  /**
   * The host's public SSH key (`ssh-ed25519 AAAA...`, from `ssh-keyscan -t ed25519 HOST` without the host
   * name). Every connection checks it, Pulumi's provisioning and its Docker provider alike: another server
   * answering at that address (the connection sends sudo commands and the directory's bind password) is
   * refused.
   */
  hostKey: z
    .string({ error: (issue) => (issue.input === undefined ? HOST_KEY_MISSING : undefined) })
    .regex(/^(ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa) [A-Za-z0-9+/=]+$/, { error: "expected a public key such as ssh-ed25519 AAAA..." }),
});

export type HostProvisioningConfig = z.output<typeof HostProvisioningSettings>;

/**
 * What provisioning reads of a stack: where the host is, its domain, its provisioning settings, and the
 * ports the directory, mail and monitoring agent publish there (the firewall opens exactly those).
 */
export interface ProvisionedHost {
  /** `ssh://user@host[:port]`: the host's Docker engine, reached over SSH. */
  docker: string;
  domain: string;
  provisioning?: HostProvisioningConfig;
  services: {
    ldap?: { publishLdaps: boolean };
    mail?: { ports: Record<string, number | string | undefined> };
  };
  /** Where a monitoring agent runs (services.agent): its ports, open to the monitoring host's address only. */
  agent?: { ports: number[]; monitoringAddress: string };
}

/** `ssh://user@host[:port]` split into its parts (the stack schema already checked the form). */
export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

/**
 * ssh options that make the `ssh` client (which the Docker provider runs for `ssh://` hosts) trust exactly
 * `hostKey` for the host, whatever ~/.ssh/known_hosts holds: no prompt, no other key, nothing written.
 */
export function pinnedHostKeySshOptions(hostKey: string): string[] {
  return [
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    // %H is the name ssh looks up ([host]:port on another port than 22): answer it with the stack's key.
    `KnownHostsCommand=/bin/echo %H ${hostKey}`,
  ];
}

export function sshTarget(dockerUrl: string): SshTarget | undefined {
  const match = /^ssh:\/\/([^@]+)@([^:]+)(?::(\d+))?$/.exec(dockerUrl);
  if (!match) return undefined;
  return { user: match[1], host: match[2], port: match[3] ? Number(match[3]) : 22 };
}
