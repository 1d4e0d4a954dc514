import { z } from "zod";
import { declareService } from "../platform/service";
import { hostname, memoryMb } from "../platform/settings";

const positive = (what: string) =>
  z
    .number()
    .int({ error: `expected a whole number of ${what}` })
    .positive({ error: `expected a whole number of ${what}` });

export const AccountSettings = z.strictObject({
  /** Public host name of the page. Default: `account.<domain>`. */
  hostname: hostname().optional(),
  /** Memory limit of the page (Node.js; about 45 MiB in use). Default 128 MiB. */
  memoryMb: memoryMb(128),
  /** How long an invitation link stays valid, in hours. Default 168 (a week). */
  invitationHours: positive("hours").default(168),
  /** How long a forgotten-password link stays valid, in minutes. Default 60. */
  resetMinutes: positive("minutes").default(60),
  /**
   * Attempts per client address and form (login, password change, forgotten password, invitation API)
   * in each window. Default 10 in 900 s: each login costs the directory an argon2 verification.
   */
  rateLimit: z.strictObject({ attempts: positive("attempts").default(10), windowSeconds: positive("seconds").default(900) }).prefault({}),
});

export type AccountConfig = z.output<typeof AccountSettings>;

/** `infra:services.account`: members set and change their password and SSH keys at account.<domain>. */
export const AccountService = declareService({
  name: "account",
  summary: "Members' account page: invitation, password (set, change, forgotten), SSH keys, end dates",
  settings: AccountSettings,
  ownImages: ["account"],
  // It writes passwords through its service account: beside the directory; it mails through the server here.
  needs: { directory: "required", mail: "required" },
  // The proxy's login for the tech team's pages (the metrics UI): directory members of tech or admins.
  provides: ["techLogin"],
});
