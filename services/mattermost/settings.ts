import { z } from "zod";
import { declareService } from "../../platform/service";
import { hostname, imageRef, memoryMb } from "../../platform/settings";
import { SmtpSettings } from "../../platform/smtp-client";

export const DEFAULT_IMAGE = "mattermost/mattermost-team-edition:10.5.2";

export const MattermostSettings = z.strictObject({
  /** Team Edition image, pinned by tag (and digest where known). */
  image: imageRef().default(DEFAULT_IMAGE),
  /** Public host name. Default: `chat.<domain>`. */
  hostname: hostname().optional(),
  memoryMb: memoryMb(2048),
  /** Its PostgreSQL: our image, PostgreSQL 15 from Debian (platform/postgres.ts; Mattermost supports 13 and later). */
  database: z.strictObject({ memoryMb: memoryMb(512) }).prefault({}),
  /** Email notifications through the association's mail server (see platform/smtp-client.ts). */
  smtp: SmtpSettings,
});

export type MattermostConfig = z.output<typeof MattermostSettings>;

/** `infra:services.mattermost`: the members' chat; sends notifications through the mail server. */
export const MattermostService = declareService({
  name: "mattermost",
  summary: "Mattermost Team Edition with its PostgreSQL",
  settings: MattermostSettings,
  /** Its database's (platform/postgres/image). */
  ownImages: ["postgres"],
  needs: { directory: "optional", mail: "optional" },
});
