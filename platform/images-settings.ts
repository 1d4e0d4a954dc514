import { z } from "zod";
import { secretSetting } from "./settings";

/** One pin written by CI: `<tag>@sha256:<digest>` (the tag says which commit built it, the digest is what runs). */
export const ImagePin = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}@sha256:[a-f0-9]{64}$/, { error: "expected <tag>@sha256:<64 hex digits>" });

/**
 * Where our own images come from.
 * - `{ build: true }` (local): built on the host from their folders, FROM `baseImage`.
 * - `{ registry, registryAuth, pins }` (production): pulled from the project's private registry with a
 *   read-only deploy token; CI writes each pin (`<commit>@sha256:<digest>`) after building and scanning
 *   the image.
 */
export const ImagesSettings = z.union(
  [
    z.strictObject({
      build: z.literal(true),
      baseImage: z.string().default("debian:bookworm-slim"),
    }),
    z.strictObject({
      registry: z
        .string()
        .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, { error: "expected a registry path such as registry.example.org/asso/infra" }),
      /**
       * The deploy token the hosts' Docker engines pull with (GitLab: Settings > Repository > Deploy
       * tokens, scope read_registry). The registry refuses anonymous pulls.
       */
      registryAuth: z.strictObject({
        username: z.string().min(1, { error: "expected the deploy token's user name" }),
        password: secretSetting(),
      }),
      pins: z.record(z.string(), ImagePin),
    }),
  ],
  {
    error: "expected { build: true } or { registry: ..., registryAuth: { username, password }, pins: { <image>: <tag>@sha256:<digest> } }",
  },
);

export type ImagesConfig = z.output<typeof ImagesSettings>;

/** `registry.example.org/asso/infra` -> `registry.example.org`: the address Docker logs in to. */
export function registryHost(registry: string): string {
  return registry.split("/")[0];
}
