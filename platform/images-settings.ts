import { z } from "zod";

/**
 * Where our own images come from.
 * - `{ build: true }` (local): built on the host from their folders, FROM `baseImage`.
 * - `{ registry, pins }` (production): pulled from the project's registry; CI writes each pin
 *   (`<commit>@sha256:<digest>`) after building and scanning the image.
 */
export const ImagesSettings = z.union(
  [
    z.strictObject({
      build: z.literal(true),
      baseImage: z.string().default("debian:bookworm-slim"),
    }),
    z.strictObject({
      registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, { error: "expected a registry path such as registry.example.org/asso/infra" }),
      pins: z.record(
        z.string(),
        z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}@sha256:[a-f0-9]{64}$/, { error: "expected <tag>@sha256:<64 hex digits>" }),
      ),
    }),
  ],
  { error: "expected { build: true } or { registry: ..., pins: { <image>: <tag>@sha256:<digest> } }" },
);

export type ImagesConfig = z.output<typeof ImagesSettings>;
