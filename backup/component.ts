import * as pulumi from "@pulumi/pulumi";
import {
  BACKUP_DATA_DIR,
  BACKUP_DUMPS_DIR,
  BACKUP_JOB,
  summarizeBackup,
  type DatabaseDump,
  type DeclaredVolume,
  type VolumeBackupSummary,
} from "../platform/backup";
import { serviceContainer, type VolumeMount } from "../platform/container";
import { JOB_METRICS_DIR } from "../platform/job-metrics";
import type { ServiceArgs } from "../platform/service";
import type { BackupConfig, BackupService } from "./settings";

/** Where a `volume:<name>` repository is mounted in the job's container. */
export const REPOSITORY_DIR = "/repository";
/** The job's cache volume: restic's cache, the databases' dumps, and the staging area of a restore. */
export const CACHE_DIR = "/var/cache/backup";
export const BACKUP_IMAGE = { name: "backup", context: "backup/image" } as const;

/** What the plan and the stack's outputs say about a host's backup: what, where, when. */
export interface BackupSummary {
  /** Every declared volume of the host and what is kept of it. */
  volumes: VolumeBackupSummary[];
  /** The job, when `infra:services.backup` runs on this host. */
  job: { repository: string; at: string; checkOn: string; keep: BackupConfig["keep"] } | null;
}

export function backupSummary(volumes: readonly DeclaredVolume[], settings: BackupConfig | undefined): BackupSummary {
  return {
    volumes: volumes.map(summarizeBackup),
    job: settings ? { repository: settings.repository, at: settings.at, checkOn: settings.checkOn, keep: settings.keep } : null,
  };
}

/** The volumes whose files a snapshot holds: files copied live and exports. */
export function copiedVolumes(volumes: readonly DeclaredVolume[]): DeclaredVolume[] {
  return volumes.filter((v) => v.backup.keep === "files" || v.backup.keep === "export");
}

/** The databases a run dumps before the snapshot. */
export function dumpedDatabases(volumes: readonly DeclaredVolume[]): DatabaseDump[] {
  return volumes.flatMap((v) => (v.backup.keep === "dump" ? [v.backup.database] : []));
}

/** libpq's password file for the databases: `host:port:database:user:password` per line (`:` and `\` escaped). */
export function pgpass(databases: readonly DatabaseDump[]): pulumi.Output<string> {
  const escape = (text: string) => text.replace(/[\\:]/g, (c) => `\\${c}`);
  return pulumi
    .all(databases.map((db) => db.password))
    .apply((passwords) =>
      databases.map((db, i) => `${db.host}:5432:${escape(db.database)}:${escape(db.user)}:${escape(passwords[i])}\n`).join(""),
    );
}

/**
 * The host's backup (restic, our image in backup/image): one long-running container, `backup`, which
 * sleeps until `at` (UTC) and then runs `backup-run`: a pg_dump of every database declared `dump`, then one
 * snapshot of every volume declared `files` or `export` (mounted read-only) and of the dumps; on `checkOn`
 * a `restic check`, then `restic forget --prune` with the retention. Each run writes
 * `backup.prom` into the host's job-metrics volume (platform/job-metrics.ts) and the container turns
 * unhealthy after a failed run. Built after every other service (last in the catalog): it reads what they
 * declared. Snapshots carry the stack's name as restic's `--host`: a restore picks the host's snapshots by it.
 */
export class Backup extends pulumi.ComponentResource {
  constructor(name: string, args: ServiceArgs<typeof BackupService>, opts?: pulumi.ComponentResourceOptions) {
    super("infra:service:Backup", name, {}, opts);
    const { context, settings } = args;
    const volumes = copiedVolumes(context.volumes);
    const databases = dumpedDatabases(context.volumes);
    const repositoryVolume = settings.repository.startsWith("volume:")
      ? context.volume(settings.repository.slice("volume:".length), this, {
          keep: "nothing",
          because: "it is the backup repository itself (local only)",
        })
      : undefined;
    const cache = context.volume("backup-cache", this, {
      keep: "nothing",
      because: "restic's cache and the last dumps, made again by every run",
    });
    // Outgoing only, to an S3 or REST repository; a volume repository needs no route out.
    const network = context.network("backup", { internal: repositoryVolume !== undefined }, this);
    const password = settings.password ?? context.password("backup-repository", this);

    const mounts: VolumeMount[] = [
      ...volumes.map((v) => ({ source: v.volume, target: `${BACKUP_DATA_DIR}/${v.name}`, readOnly: true })),
      { source: cache, target: CACHE_DIR },
      { source: context.jobMetricsVolume(BACKUP_JOB), target: JOB_METRICS_DIR },
      ...(repositoryVolume ? [{ source: repositoryVolume, target: REPOSITORY_DIR }] : []),
    ];

    serviceContainer(
      context,
      "backup",
      {
        service: "backup",
        // Long-running (it sleeps until the next run), so an app for the restart policy; role job means one-shot.
        role: "app",
        image: context.ownImage(BACKUP_IMAGE.name, BACKUP_IMAGE.context, this),
        user: "root",
        networks: [{ network }, ...databases.map((db) => ({ network: db.network }))],
        memoryMb: settings.memoryMb,
        env: {
          BACKUP_REPOSITORY: repositoryVolume ? REPOSITORY_DIR : settings.repository,
          ...(settings.region ? { AWS_DEFAULT_REGION: settings.region } : {}),
          BACKUP_HOST: pulumi.getStack(),
          BACKUP_PATHS: volumes.map((v) => `${BACKUP_DATA_DIR}/${v.name}`).join(" "),
          BACKUP_DATABASES: databases.map((db) => `${db.host}/${db.database}/${db.user}`).join(" "),
          BACKUP_DUMPS_DIR,
          BACKUP_AT: settings.at,
          BACKUP_CHECK_ON: settings.checkOn,
          BACKUP_KEEP_DAILY: String(settings.keep.daily),
          BACKUP_KEEP_WEEKLY: String(settings.keep.weekly),
          BACKUP_KEEP_MONTHLY: String(settings.keep.monthly),
          BACKUP_METRICS_DIR: JOB_METRICS_DIR,
        },
        secretEnv: {
          RESTIC_PASSWORD: password,
          ...(databases.length > 0 ? { PGPASS: pgpass(databases) } : {}),
          ...settings.credentials,
        },
        volumes: mounts,
        readOnlyRootfs: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
        capAdd: { DAC_OVERRIDE: "reads the volumes of every service, each owned by its daemon's user" },
        // Unhealthy after a failed run (and until the next one succeeds): `docker ps` and monitoring see it.
        healthcheck: { test: ["CMD", "backup-health"], intervalSeconds: 60 },
        // A run in progress ends its restic command (which leaves no half snapshot) on the way out.
        stopGraceSeconds: 30,
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
