import { z } from "zod";
import { declareService } from "../../platform/service";
import { imageRef, memoryMb } from "../../platform/settings";

export const DEFAULT_IMAGE = "collabora/code:24.04.13.3.1";

export const CollaboraSettings = z.strictObject({
  /** Collabora Online Development Edition image, pinned by tag (and digest where known). */
  image: imageRef().default(DEFAULT_IMAGE),
  memoryMb: memoryMb(2048),
  /** Spelling dictionaries offered in documents. */
  dictionaries: z
    .array(z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, { error: "expected a locale such as fr_FR" }))
    .default(["fr_FR", "en_US", "en_GB", "de_DE"]),
});

export type CollaboraConfig = z.output<typeof CollaboraSettings>;

/** `infra:services.collabora`: office documents in the Nextcloud of every tenant of the host. */
export const CollaboraService = declareService({
  name: "collabora",
  summary: "Collabora Online (CODE): office documents for every Nextcloud of the host",
  settings: CollaboraSettings,
  provides: ["office"],
});
