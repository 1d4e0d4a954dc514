/**
 * How scheduled jobs (the backup, the directory's daily expiry) tell monitoring how their last run went:
 * each job writes a Prometheus text file `<job>.prom` into the host's job-metrics volume, which the
 * node exporter reads with its textfile collector. A file per job, replaced atomically (write to a
 * temporary name in the same folder, then rename), so a scrape never reads half a file.
 *
 * Metrics every job writes (label `job` = the job's name):
 * - `infra_job_last_run_timestamp_seconds`     when the last run ended;
 * - `infra_job_last_run_success`               1 when it succeeded, 0 when it failed;
 * - `infra_job_last_success_timestamp_seconds` when it last succeeded (kept across failed runs).
 */

/** The per-host named volume shared by the jobs (read-write) and the node exporter (read-only). */
export const JOB_METRICS_VOLUME = "job-metrics";

/** Where the volume is mounted in every container that writes or reads it. */
export const JOB_METRICS_DIR = "/var/lib/job-metrics";
