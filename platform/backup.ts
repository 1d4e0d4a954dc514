import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";

/**
 * What of a host's data its backup keeps, and how: the contract between every service, which declares it
 * for each volume it makes (`context.volume(name, parent, backup)`), and the backup service (backup/),
 * which copies what is declared. A volume cannot be made without saying, so a new service cannot be
 * forgotten; the unit tests check the same over every rendered stack (declarationProblems).
 *
 * - `files`: the volume's files are copied as they are, while the service runs (Maildir, uploaded files:
 *   each file is written once and renamed into place, so a live copy is consistent file by file).
 * - `export`: the volume holds a consistent export another container writes (the directory's slapcat
 *   LDIF, by ldap-daily); its files are copied like `files`.
 * - `dump`: a PostgreSQL data directory: never copied live; the backup job takes a pg_dump of the
 *   database (custom format, the server's major version) before it copies the files of the other volumes.
 * - `elsewhere`: not copied because its data is kept through another volume (`in`): the directory's
 *   LMDB files through its export. `restore` says how the data is loaded back from there: a command run
 *   in a one-off container of `container`'s image, user and volumes (read-write), once `in` is restored.
 * - `nothing`: not kept, because (a sentence): caches, sockets, certificates that are issued again.
 */
export type VolumeBackup =
  | { keep: "files" }
  | { keep: "export"; by: string }
  | { keep: "dump"; database: DatabaseDump }
  | { keep: "elsewhere"; in: string; because: string; restore?: RestoreCommand }
  | { keep: "nothing"; because: string };

/** A command that loads a volume's data back from what the backup kept (e.g. slapadd from the LDIF export). */
export interface RestoreCommand {
  /** The container whose image, user and volumes the one-off container takes. */
  container: string;
  command: string[];
}

/** How the backup job reaches a PostgreSQL database to dump it (and to restore it). */
export interface DatabaseDump {
  /** Host name of the database on `network` (its container's name). */
  host: string;
  network: docker.Network;
  database: string;
  user: string;
  password: pulumi.Output<string>;
}

/** A volume's declaration as the host records it. */
export interface DeclaredVolume {
  name: string;
  volume: docker.Volume;
  backup: VolumeBackup;
}

/** A declaration as the plan and the stack's outputs show it: no resource, no secret. */
export interface VolumeBackupSummary {
  volume: string;
  keep: VolumeBackup["keep"];
  /** How, or why not: the exporting container, the dumped database, the reason. */
  detail: string;
  /** `dump`: the database a restore loads the dump into. */
  database?: { host: string; database: string; user: string };
  /** `elsewhere`: how a restore loads the data back. */
  restore?: RestoreCommand;
}

export function summarizeBackup(declared: Pick<DeclaredVolume, "name" | "backup">): VolumeBackupSummary {
  const { name, backup } = declared;
  const detail =
    backup.keep === "files"
      ? "files copied live"
      : backup.keep === "export"
        ? `consistent export written by ${backup.by}`
        : backup.keep === "dump"
          ? `pg_dump of database ${backup.database.database} on ${backup.database.host}`
          : backup.keep === "elsewhere"
            ? `kept through ${backup.in}: ${backup.because}`
            : `nothing to keep: ${backup.because}`;
  return {
    volume: name,
    keep: backup.keep,
    detail,
    ...(backup.keep === "dump"
      ? { database: { host: backup.database.host, database: backup.database.database, user: backup.database.user } }
      : {}),
    ...(backup.keep === "elsewhere" && backup.restore ? { restore: backup.restore } : {}),
  };
}

/** The volumes of a rendered stack that carry no backup declaration, as one problem each. */
export function declarationProblems(volumes: readonly string[], declared: readonly VolumeBackupSummary[]): string[] {
  const known = new Set(declared.map((d) => d.volume));
  return volumes
    .filter((volume) => !known.has(volume))
    .map(
      (volume) =>
        `volume ${volume}: no backup declaration; say what is kept and how (context.volume(name, parent, { keep: ... })), or { keep: "nothing", because: "..." }`,
    );
}

/** Where the backup job mounts each volume it copies (read-only), and where restic records it. */
export const BACKUP_DATA_DIR = "/data";
/** Where the job writes the databases' dumps before the snapshot (`<host>.dump`): part of every snapshot. */
export const BACKUP_DUMPS_DIR = "/var/cache/backup/dumps";

/** The job's name in the job-metrics file (platform/job-metrics.ts): `backup.prom`, label job="backup". */
export const BACKUP_JOB = "backup";
