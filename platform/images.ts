import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hashDirectory } from "./hash";
import type { ImagesConfig } from "./images-settings";

/** An image a container may run: a pinned reference, and the image id Docker resolved for it. */
export interface PinnedImage {
  /** What the plan shows: `repo:tag` or `repo:tag@sha256:...`. */
  ref: string;
  /** Pass this to containers (not the name): a new image id replaces the container, a name never would. */
  id: pulumi.Output<string>;
}

const REPO_ROOT = path.resolve(__dirname, "..");

/** A third-party image pinned by tag, and by digest where the stack gives one. */
export function upstreamImage(name: string, ref: string, opts: pulumi.CustomResourceOptions): PinnedImage {
  const image = new docker.RemoteImage(name, { name: ref, keepLocally: true }, opts);
  return { ref, id: image.imageId };
}

/**
 * One of our own images (ldap, mail-postfix, ...). On `local` it is built on the host from its folder
 * (rebuilt when a file in it changes); elsewhere it is pulled from the registry at the pin CI wrote.
 */
export function ownImage(name: string, contextDir: string, images: ImagesConfig, opts: pulumi.CustomResourceOptions): PinnedImage {
  if ("build" in images) {
    const ref = `infra/${name}:local`;
    const image = new docker.RemoteImage(
      `image-${name}`,
      {
        name: ref,
        keepLocally: true,
        build: {
          // Relative to the repository (Pulumi runs in it), so the input is the same on every machine.
          context: contextDir,
          buildArgs: { BASE_IMAGE: images.baseImage },
        },
        triggers: { contentHash: hashDirectory(path.join(REPO_ROOT, contextDir)) },
      },
      opts,
    );
    return { ref, id: image.imageId };
  }
  const pin = images.pins[name];
  const ref = `${images.registry}/${name}:${pin}`;
  return upstreamImage(`image-${name}`, ref, opts);
}
