import { z } from "zod";
import { declareService } from "../../platform/service";
import { hostname, imageRef, memoryMb } from "../../platform/settings";
import { SmtpSettings } from "../../platform/smtp-client";

export const DEFAULT_IMAGE = "mattermost/mattermost-team-edition:10.5.2";
/** Mattermost supports PostgreSQL 13 and later; 16 is the project's Postgres block default. */
export const DATABASE_IMAGE = "postgres:16.4-bookworm";

export const MattermostSettings = z.strictObject({
  /** Team Edition image, pinned by tag (and digest where known). */
  image: imageRef().default(DEFAULT_IMAGE),
  /** Public host name. Default: `chat.<domain>`. */
  hostname: hostname().optional(),
  memoryMb: memoryMb(2048),
  database: z
    .strictObject({
      image: imageRef().default(DATABASE_IMAGE),
      memoryMb: memoryMb(512),
    })
    .prefault({}),
  /** Email notifications through the association's mail server (see platform/smtp-client.ts). */
  smtp: SmtpSettings,
});

export type MattermostConfig = z.output<typeof MattermostSettings>;

/** `infra:services.mattermost`: the members' chat; sends notifications through the mail server. */
export const MattermostService = declareService({
  name: "mattermost",
  summary: "Mattermost Team Edition with its PostgreSQL",
  settings: MattermostSettings,
  needs: { directory: "optional", mail: "optional" },
});
