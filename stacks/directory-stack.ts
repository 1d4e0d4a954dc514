import * as pulumi from "@pulumi/pulumi";
import type { SendingAccountName } from "../platform/directory";

/**
 * Cross-host wiring. The host that runs the directory (pica02) exports the passwords of the service
 * accounts other hosts use; a host that reads that directory (pica01) names the directory's stack in
 * `infra:directoryStack`, and the program reads them through a StackReference instead of a person
 * copying them between stack files. The plan lists each value that comes from another stack.
 */

/** The stack output holding the service accounts' passwords (a secret). */
export const DIRECTORY_PASSWORDS_OUTPUT = "directoryServicePasswords";

/** Passwords of the service accounts another host uses: mail senders and the hosts' sssd. */
// The account page runs beside the directory (it writes passwords), so its password never crosses hosts.
export type DirectoryPasswords = Record<Exclude<SendingAccountName, "account" | "monitoring"> | "hosts", string>;

/** The settings a directory stack fills in, by key path (what the plan prints). */
export const FROM_DIRECTORY_STACK = {
  "services.mattermost.smtp.password": "mattermost",
  "services.nextcloud.smtp.password": "nextcloud",
  "provisioning.bindPassword": "hosts",
} as const satisfies Record<string, keyof DirectoryPasswords>;

export type FilledPath = keyof typeof FROM_DIRECTORY_STACK;

/** `organization/infra/pica02` -> `pica02`: the stack file of the same repository. */
export function stackNameOf(qualifiedName: string): string {
  return qualifiedName.split("/").pop() as string;
}

/** The key paths a stack's config takes from its directory stack: those whose settings exist on this host. */
export function filledPaths(config: { services: Record<string, unknown>; provisioning?: unknown }): FilledPath[] {
  return (Object.keys(FROM_DIRECTORY_STACK) as FilledPath[]).filter((path) => {
    const [top, service] = path.split(".");
    return top === "provisioning" ? config.provisioning !== undefined : config.services[service] !== undefined;
  });
}

/** Read the directory stack's passwords, one secret Output per account. */
export function readDirectoryStack(
  qualifiedName: string,
  parent: pulumi.Resource,
): (account: keyof DirectoryPasswords) => pulumi.Output<string> {
  const reference = new pulumi.StackReference(qualifiedName, { name: qualifiedName }, { parent });
  const passwords = reference.requireOutput(DIRECTORY_PASSWORDS_OUTPUT) as pulumi.Output<DirectoryPasswords>;
  return (account) => pulumi.secret(passwords.apply((all) => all[account]));
}
