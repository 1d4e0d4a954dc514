import { z } from "zod";
import { declareService } from "../platform/service";
import { memoryMb, secretSetting } from "../platform/settings";

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

const keepCount = (what: string, standard: number) =>
  z
    .int({ error: `expected a whole number of ${what} snapshots` })
    .min(0, { error: `expected 0 or more ${what} snapshots` })
    .max(1000, { error: `expected at most 1000 ${what} snapshots` })
    .default(standard);

/**
 * `infra:services.backup`: the host's backup job (backup/component.ts). Every night it dumps the
 * databases, then takes one restic snapshot of what each service declared (platform/backup.ts); once a
 * week it checks the repository, then forgets and prunes what the retention no longer keeps.
 */
export const BackupSettings = z
  .strictObject({
    /**
     * Where the snapshots go, in restic's words: `s3:https://<host>/<bucket>[/<path>]` (the association's
     * Garage), `rest:https://...` (a restic REST server), or `volume:<name>`: a Docker volume on this host
     * (local only: a backup on the machine it saves is no backup). Required.
     */
    repository: z
      .string({ error: "expected a restic repository such as s3:https://garage.example.org/backups/pica02" })
      .regex(/^(s3:https?:\/\/[^\s/]+\/\S+|rest:https?:\/\/\S+|volume:[a-z0-9][a-z0-9_.-]*)$/, {
        error: "expected s3:https://<host>/<bucket>[/<path>], rest:https://<host>/<path> or volume:<name> (local only)",
      }),
    /**
     * The repository's key (restic encrypts everything with it). Default: generated and kept in the Pulumi
     * state. Set it (`pulumi config set --secret --path 'infra:services.backup.password' ...`) on production
     * hosts and keep it in the password manager: without it no snapshot can be read, e.g. after the state
     * is lost with the host (docs/restore.md).
     */
    password: secretSetting().optional(),
    /**
     * The S3 region restic signs its requests for (AWS_DEFAULT_REGION; not a secret). Garage answers in its
     * own region only, `s3_region` in garage.toml, usually `garage`. Default: the region the server reports.
     */
    region: z
      .string({ error: "expected an S3 region name such as garage" })
      .regex(/^[a-z0-9][a-z0-9-]*$/, { error: "expected an S3 region name such as garage" })
      .optional(),
    /**
     * Variables restic reads to reach the repository, all secret: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
     * for S3, RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD for a REST server. Default none.
     */
    credentials: z
      .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: "expected a variable name such as AWS_ACCESS_KEY_ID" }), secretSetting())
      .default({}),
    /** UTC time of the nightly run (HH:MM). Default 03:30: after the directory's export (ldap dailyAt, 03:00). */
    at: z.string().regex(TIME, { error: "expected a time HH:MM (UTC) such as 03:30" }).default("03:30"),
    /** Day of the weekly `restic check`, forget and prune (after that night's backup). Default sunday. */
    checkOn: z.enum(WEEKDAYS, { error: `expected a day of the week: ${WEEKDAYS.join(", ")}` }).default("sunday"),
    /**
     * Snapshots kept (restic forget --prune --keep-daily/--keep-weekly/--keep-monthly, on `checkOn`: until
     * then the week's nights are kept as well). Default 7, 4, 6.
     */
    keep: z
      .strictObject({ daily: keepCount("daily", 7), weekly: keepCount("weekly", 4), monthly: keepCount("monthly", 6) })
      .prefault({})
      .refine((keep) => keep.daily + keep.weekly + keep.monthly > 0, { error: "expected to keep at least one snapshot" }),
    /** Memory limit of the job (restic's index and pg_dump). Default 512 MiB. */
    memoryMb: memoryMb(512),
  })
  .refine((backup) => backup.region === undefined || backup.repository.startsWith("s3:"), {
    error: "is for an s3: repository only",
    path: ["region"],
  });

export type BackupConfig = z.output<typeof BackupSettings>;

/**
 * `infra:services.backup`: the host's backup. Last in the catalog (stacks/catalog.ts), so it is built after
 * every service whose volumes it backs up.
 */
export const BackupService = declareService({
  name: "backup",
  summary: "restic snapshots of what every service declares, encrypted, to S3; nightly, with retention and a weekly check",
  settings: BackupSettings,
  ownImages: ["backup"],
});
