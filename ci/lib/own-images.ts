/**
 * Our own images: ldap/image, every folder with a Dockerfile under mail/, platform/acme/image,
 * platform/postgres/image, backup/image, monitoring/image and account/image. The image name is the one the stacks pin under
 * infra:images.pins (ldap/image -> ldap, mail/postfix -> mail-postfix, platform/acme/image -> acme,
 * platform/postgres/image -> postgres, backup/image -> backup, monitoring/image -> monitoring, account/image -> account). hosts/ holds a test-only image and is never pushed.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";

export interface OwnImage {
  /** Key under infra:images.pins and repository name under $CI_REGISTRY_IMAGE. */
  name: string;
  /** Build context, relative to the repository root, with forward slashes. */
  context: string;
}

/** The image a Dockerfile path (relative to the repository root) builds, if it is one we push. */
export function ownImageOf(dockerfile: string): OwnImage | undefined {
  const parts = dockerfile.split("/");
  if (parts.at(-1) !== "Dockerfile") return undefined;
  const dirs = parts.slice(0, -1);
  if (dirs.join("/") === "ldap/image") return { name: "ldap", context: "ldap/image" };
  if (dirs.join("/") === "platform/acme/image") return { name: "acme", context: "platform/acme/image" };
  if (dirs.join("/") === "platform/postgres/image") return { name: "postgres", context: "platform/postgres/image" };
  if (dirs.join("/") === "backup/image") return { name: "backup", context: "backup/image" };
  if (dirs.join("/") === "monitoring/image") return { name: "monitoring", context: "monitoring/image" };
  if (dirs.join("/") === "account/image") return { name: "account", context: "account/image" };
  if (dirs[0] === "mail" && dirs.length >= 2) return { name: dirs.join("-"), context: dirs.join("/") };
  return undefined;
}

/** Every image we push, found from the Dockerfiles in the checkout, sorted by name. */
export function discoverOwnImages(repoRoot: string): OwnImage[] {
  const candidates = ["ldap", "mail", "platform", "backup", "monitoring", "account"].flatMap((top) => {
    try {
      return (readdirSync(path.join(repoRoot, top), { recursive: true }) as string[]).map((p) => `${top}/${p.split(path.sep).join("/")}`);
    } catch {
      return []; // the folder does not exist (yet)
    }
  });
  return candidates
    .map(ownImageOf)
    .filter((image): image is OwnImage => image !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The images whose build context holds a changed file; all of them when the changes are unknown. */
export function imagesToBuild(images: readonly OwnImage[], changedFiles: readonly string[] | "unknown"): OwnImage[] {
  if (changedFiles === "unknown") return [...images];
  return images.filter((image) => changedFiles.some((file) => file.startsWith(`${image.context}/`)));
}

/** What build-images.ts hands to the scan and pin jobs for each pushed image. */
export interface BuiltImage {
  name: string;
  /** `<registry image>/<name>@sha256:<digest>`: what Trivy scans. */
  ref: string;
  /** `<commit sha>@sha256:<digest>`: the value for infra:images.pins.<name>. */
  pin: string;
}
