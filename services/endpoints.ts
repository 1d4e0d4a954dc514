import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

/**
 * What one service offers to the others on the same host. The directory and mail components set
 * these on the Host when they are created (they are created first); consumers read them, and fall
 * back to settings in their own config when the provider runs on another host.
 */

export interface ServiceAccount {
  /** Bind DN, e.g. cn=mail,ou=services,dc=asso,dc=localhost. */
  dn: string;
  password: pulumi.Output<string>;
  /** Mail address of the account (service accounts that send mail). */
  mail?: string;
}

export interface DirectoryEndpoint {
  /** ldaps://ldap.<domain>:636, reachable on the directory network. */
  url: string;
  baseDn: string;
  /** Internal network that clients join to reach the directory. */
  network: docker.Network;
  /** Volume holding the directory's certificate (tls.crt), for clients that must trust it. */
  certificates: docker.Volume;
  /** Read-only account of a consuming service: mail, mattermost, nextcloud, hosts. */
  serviceAccount(service: string): ServiceAccount;
}

export interface MailEndpoint {
  /** Submission host (STARTTLS on 587) and the network to reach it on this host. */
  submissionHost: string;
  submissionPort: number;
  network: docker.Network;
  /** The certificate is self-signed (local): clients on this host cannot verify it against public CAs. */
  selfSignedCertificate: boolean;
}
