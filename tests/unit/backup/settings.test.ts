import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../stacks/schema";
import { renderVariant } from "../../helpers/rendered";

/** One mistake per case in the backup settings of pica02's stack file, and the exact line the volunteer reads. */
const mistakes: [string, (backup: Record<string, any>) => void, string][] = [
  [
    "a repository restic cannot reach",
    (b) => (b.repository = "/srv/backup"),
    "services.backup.repository: expected s3:https://<host>/<bucket>[/<path>], rest:https://<host>/<path> or volume:<name> (local only)",
  ],
  [
    "no repository",
    (b) => delete b.repository,
    "services.backup.repository: expected a restic repository such as s3:https://garage.example.org/backups/pica02",
  ],
  [
    "a repository key in plain text",
    (b) => (b.password = "correct horse battery staple"),
    "services.backup.password: is written in plain text; expected a secret (pulumi config set --secret --path 'infra:services.backup.password' ...)",
  ],
  [
    "an S3 secret key in plain text",
    (b) => (b.credentials.AWS_SECRET_ACCESS_KEY = "abcdefgh"),
    "services.backup.credentials.AWS_SECRET_ACCESS_KEY: is written in plain text",
  ],
  [
    "a region for a repository that is not S3",
    (b) => Object.assign(b, { repository: "rest:https://backups.example.org/pica02", region: "garage" }),
    "services.backup.region: is for an s3: repository only",
  ],
  ["a region that is not a name", (b) => (b.region = "Garage EU"), "services.backup.region: expected an S3 region name such as garage"],
  ["a time that is not HH:MM", (b) => (b.at = "3h30"), "services.backup.at: expected a time HH:MM (UTC) such as 03:30"],
  [
    "a check day that is not a day",
    (b) => (b.checkOn = "weekend"),
    "services.backup.checkOn: expected a day of the week: monday, tuesday, wednesday, thursday, friday, saturday, sunday",
  ],
  ["a negative retention", (b) => (b.keep = { daily: -1 }), "services.backup.keep.daily: expected 0 or more daily snapshots"],
  [
    "a retention that keeps nothing",
    (b) => (b.keep = { daily: 0, weekly: 0, monthly: 0 }),
    "services.backup.keep: expected to keep at least one snapshot",
  ],
  ["an unknown setting", (b) => (b.schedule = "nightly"), "services.backup.schedule: unknown setting"],
];

describe("backup settings", () => {
  it.each(mistakes)("refuses %s, naming the key", async (_what, change, message) => {
    const error = await renderVariant("pica02", (c) => change(c["infra:services"].backup)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.some((p) => p.startsWith(message))).toBe(true);
  });

  it("defaults to a nightly run at 03:30 UTC, 7 daily, 4 weekly, 6 monthly snapshots and a check on Sundays", async () => {
    const rendered = await renderVariant("local", () => undefined);
    const env = rendered.containers.find((c) => c.name === "backup")?.env;
    expect(env).toMatchObject({
      BACKUP_AT: "03:30",
      BACKUP_CHECK_ON: "sunday",
      BACKUP_KEEP_DAILY: "7",
      BACKUP_KEEP_WEEKLY: "4",
      BACKUP_KEEP_MONTHLY: "6",
    });
    expect(env).not.toHaveProperty("AWS_DEFAULT_REGION");
  });

  it("signs for the repository's S3 region when the stack names one (pica02's Garage)", async () => {
    const rendered = await renderVariant("pica02", () => undefined);
    expect(rendered.containers.find((c) => c.name === "backup")?.env.AWS_DEFAULT_REGION).toBe("garage");
  });
});
