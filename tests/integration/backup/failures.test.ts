import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { renderVariant } from "../../helpers/rendered";

/**
 * The backup job's failures on the rendered local stack, reduced to the directory and the mail server's
 * volumes (no database: the web services are left out) and a retention the scenarios reach in one run:
 * 2 daily, 3 weekly, 3 monthly snapshots. Only the backup container runs; the scenarios share its repository.
 */
const KEEP = { daily: 2, weekly: 3, monthly: 3 };
const METRICS = "/var/lib/job-metrics/backup.prom";

describe.runIf(dockerAvailable())("backup failures and retention", () => {
  let stack: RunningStack;
  let password = "";

  /** Run the job (with env overrides); its exit code and everything it printed. */
  const run = async (args: string[] = [], env: Record<string, string> = {}) => {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const result = await dockerExec([...envArgs, `${stack.prefix}backup`, "backup-run", ...args]);
    return { exitCode: result.exitCode, log: result.stdout + result.stderr };
  };
  const dockerExec = (args: string[]) => docker(["exec", ...args], { timeoutMs: 300_000 });
  /** restic in the job's container, with its settings (backup-env). */
  const restic = (command: string, repository?: string) =>
    stack.exec("backup", ["sh", "-c", `. backup-env; ${repository ? `export RESTIC_REPOSITORY=${repository}; ` : ""}restic ${command}`]);
  const snapshotTimes = async (repository?: string): Promise<string[]> => {
    const listed = await restic("snapshots --json", repository);
    expect(listed.exitCode, listed.stderr).toBe(0);
    return (JSON.parse(listed.stdout) as { time: string }[]).map((s) => s.time).sort();
  };
  const metric = async (name: string) => {
    const text = (await stack.exec("backup", ["cat", METRICS])).stdout;
    return new RegExp(`^${name}\\{job="backup"\\} (\\d+)$`, "m").exec(text)?.[1];
  };
  const health = async () => (await dockerOk(["inspect", "-f", "{{.State.Health.Status}}", `${stack.prefix}backup`])).trim();
  const waitHealth = async (wanted: string) => {
    const deadline = Date.now() + 60_000;
    while ((await health()) !== wanted) {
      if (Date.now() > deadline) throw new Error(`backup is ${await health()}, not ${wanted}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  /** Write into the secrets volume the job reads its repository key from. */
  const setPassword = (value: string) =>
    dockerOk(
      [
        "run",
        "--rm",
        "-i",
        "--mount",
        `type=volume,source=${stack.prefix}backup-secrets,target=/s`,
        "debian:bookworm-slim",
        "sh",
        "-c",
        "cat > /s/RESTIC_PASSWORD",
      ],
      { input: value },
    );
  /** Put `megabytes` of random data into the mailboxes volume (what the job copies). */
  const addMail = (name: string, megabytes: number) =>
    dockerOk([
      "run",
      "--rm",
      "--mount",
      `type=volume,source=${stack.prefix}mail-mailboxes,target=/v`,
      "debian:bookworm-slim",
      "sh",
      "-c",
      `mkdir -p /v/asso.localhost/bob/Maildir/cur && head -c ${megabytes}M /dev/urandom > /v/asso.localhost/bob/Maildir/cur/${name}`,
    ]);

  beforeAll(async () => {
    const rendered = await renderVariant("local", (c) => {
      const services = c["infra:services"];
      for (const web of ["mattermost", "nextcloud", "collabora", "monitoring"]) delete services[web];
      c["infra:partners"] = [];
      services.backup.keep = KEEP;
    });
    stack = await startStack({ rendered, containers: ["backup"] });
    password = (await stack.exec("backup", ["cat", "/run/secrets/RESTIC_PASSWORD"])).stdout;
    await addMail("first", 1);
  }, 600_000);

  afterAll(async () => {
    await stack?.teardown();
  });

  it("takes a snapshot and reports its success in backup.prom", async () => {
    const first = await run();
    expect(first.exitCode, first.log).toBe(0);
    expect(first.log).toMatch(/backup: no repository yet: initialising it/);
    expect(await metric("infra_job_last_run_success")).toBe("1");
    expect(await snapshotTimes()).toHaveLength(1);
    await waitHealth("healthy");
  });

  it("fails loudly with a wrong repository key, and leaves the snapshots intact", async () => {
    const lastSuccess = await metric("infra_job_last_success_timestamp_seconds");
    await setPassword("not-the-repository-key");
    const failed = await run();
    expect(failed.exitCode).toBe(1);
    expect(failed.log).toMatch(/^backup: FAILED: cannot open the repository: .*wrong password/m);
    // Never "initialised" again over a repository it cannot open.
    expect(failed.log).not.toMatch(/initialising/);
    expect(await metric("infra_job_last_run_success")).toBe("0");
    expect(await metric("infra_job_last_success_timestamp_seconds")).toBe(lastSuccess);
    await waitHealth("unhealthy");

    await setPassword(password);
    expect(await snapshotTimes()).toHaveLength(1);
    const again = await run();
    expect(again.exitCode, again.log).toBe(0);
    await waitHealth("healthy");
  });

  it("fails loudly when the repository cannot be reached, and leaves the snapshots intact", async () => {
    const before = await snapshotTimes();
    // Nothing listens there: the connection is refused.
    const failed = await run([], { BACKUP_REPOSITORY: "rest:http://127.0.0.1:9/" });
    expect(failed.exitCode).toBe(1);
    expect(failed.log).toMatch(/^backup: FAILED: cannot .*connection refused/m);
    expect(await metric("infra_job_last_run_success")).toBe("0");
    await waitHealth("unhealthy");
    expect(await snapshotTimes()).toEqual(before);
  });

  it("prunes old snapshots as configured (2 daily, 3 weekly, 3 monthly) on the check day, by restic's own listing", async () => {
    // Snapshots of past Sundays, as earlier nightly runs would have left them.
    const sundays = ["09-06", "09-13", "09-20", "09-27", "10-04", "10-11", "10-18", "10-25"].map((day) => `2026-${day}`);
    for (const day of sundays) {
      const made = await restic(`backup --quiet --host local --time "${day} 03:30:00" /data/mail-mailboxes`);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    // Another night forgets nothing (forgetting without the prune would free no space).
    const before = await snapshotTimes();
    const night = await run([], { BACKUP_CHECK_ON: "none" });
    expect(night.exitCode, night.log).toBe(0);
    expect(await snapshotTimes()).toHaveLength(before.length + 1);
    const pruned = await run(["--check"]);
    expect(pruned.exitCode, pruned.log).toBe(0);
    const today = (await stack.exec("backup", ["date", "-u", "+%F"])).stdout.trim();
    // daily: today and 10-25; weekly: today's week, 10-25's and 10-18's; monthly: December, October (10-25), September (09-27).
    expect((await snapshotTimes()).map((time) => time.slice(0, 10))).toEqual(["2026-09-27", "2026-10-18", "2026-10-25", today]);
  });

  it("fails loudly when the repository's disk is full, and leaves the snapshots intact", async () => {
    // A copy of the repository on a small file system (the job's /tmp, a tmpfs), filled up but for 1 MiB.
    const filled = await stack.exec("backup", [
      "sh",
      "-c",
      "mkdir /tmp/full && cp -a /repository/. /tmp/full/ && head -c $(( $(df -k --output=avail /tmp | tail -n 1) - 1024 ))k /dev/zero > /tmp/filler",
    ]);
    expect(filled.exitCode, filled.stderr).toBe(0);
    await addMail("big", 8);
    const failed = await run([], { BACKUP_REPOSITORY: "/tmp/full", TMPDIR: "/var/cache/backup" });
    expect(failed.exitCode).toBe(1);
    expect(failed.log).toMatch(/^backup: FAILED: restic backup: .*no space left on device/m);
    expect(await metric("infra_job_last_run_success")).toBe("0");
    await waitHealth("unhealthy");
    await stack.exec("backup", ["rm", "/tmp/filler"]);
    expect(await snapshotTimes("/tmp/full")).toHaveLength(4);
    const check = await restic("check", "/tmp/full");
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
  });

  it("runs restic check, and a damaged repository fails the run visibly", async () => {
    const onCopy = { BACKUP_REPOSITORY: "/tmp/full", TMPDIR: "/var/cache/backup" };
    const healthy = await run(["--check"], onCopy);
    expect(healthy.exitCode, healthy.log).toBe(0);
    expect(healthy.log).toMatch(/backup: restic check: no errors/);
    // Damage the copy: its largest pack file (the 8 MiB of random data: data blobs only, never a tree) is lost.
    const damaged = await stack.exec("backup", [
      "sh",
      "-c",
      'rm "$(find /tmp/full/data -type f -printf "%s %p\\n" | sort -n | tail -n 1 | cut -d" " -f2)"',
    ]);
    expect(damaged.exitCode, damaged.stderr).toBe(0);
    const failed = await run(["--check"], onCopy);
    expect(failed.exitCode).toBe(1);
    expect(failed.log).toMatch(/^backup: FAILED: restic check found a problem in the repository: /m);
    expect(await metric("infra_job_last_run_success")).toBe("0");
    await waitHealth("unhealthy");
  });
});
