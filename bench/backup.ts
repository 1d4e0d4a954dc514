// `npm run bench:backup`: the backup of the local stack with a seeded data set — time and repository size
// of a first backup, of an incremental one with nothing changed, of one after a day's changes and of the
// weekly night (restic check, forget and prune as well), and the time of a restore into new volumes
// (directory + mail, then the database). Prints figures; never fails on them (targets: incremental < 10 %
// of the first backup's time; restore of directory + mail < 5 minutes).
// Needs Docker. The data set: the issue's 5,000 members, 20,000 messages and 100 MB database (BENCH_MEMBERS,
// BENCH_MESSAGES, BENCH_DB_MB), and 4,000 MB of a partner's Nextcloud files, in files of 4 MB (photos,
// documents: incompressible; BENCH_FILES_MB, 0 for the issue's set alone). Nextcloud's files are what the
// backup of a host with a partner holds most of. Message sizes (BENCH_MESSAGE_SIZES):
//   mix (default)  most messages small, some with attachments, about 54 KB on average: 85 % of 6 KB, 12 % of
//                  150 KB, 3 % of 1 MB (email audits put business mail at 50-60 KB on average, and it has
//                  grown since; about 1 GB for 20,000 messages);
//   small          every message 3 KiB (text only, no attachment: a lower bound).
import { performance } from "node:perf_hooks";
import { Client } from "ldapts";
import Table from "cli-table3";
import { restore, type RestoreTarget } from "../stacks/restore";
import { docker, dockerOk } from "../tests/helpers/docker";
import { startStack, type RunningStack } from "../tests/helpers/harness";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);
const DB_MB = Number(process.env.BENCH_DB_MB ?? 100);
const FILES_MB = Number(process.env.BENCH_FILES_MB ?? 4000);
if (!Number.isInteger(FILES_MB / 4) || FILES_MB < 0)
  throw new Error(`BENCH_FILES_MB '${FILES_MB}': expected a multiple of 4 (files of 4 MB)`);
const SIZES = process.env.BENCH_MESSAGE_SIZES ?? "mix";
if (SIZES !== "mix" && SIZES !== "small") throw new Error(`BENCH_MESSAGE_SIZES '${SIZES}': expected mix or small`);
/** Raw bytes of message i's body (base64 makes it a third larger): see the header. */
const BODY_BYTES =
  SIZES === "small" ? "2400" : "$(case $((i % 100)) in 9[7-9]) echo 786432 ;; 8[5-9] | 9[0-6]) echo 115200 ;; *) echo 4608 ;; esac)";
/** A day's changes for the last incremental run: new messages, updated rows and new Nextcloud files (10 of 4 MB). */
const DAY_MESSAGES = 200;
const DAY_ROWS = 1000;
const DAY_FILES = FILES_MB > 0 ? 10 : 0;
const CONTAINERS = ["ldap", "ldap-daily", "mattermost-db", "nextcloud-asso-db", "nextcloud-transition-db", "backup"];

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function timed<T>(what: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await what();
  return [result, performance.now() - start];
}

async function seedDirectory(stack: RunningStack): Promise<void> {
  const baseDn = stack.spec("ldap").env.LDAP_BASE_DN;
  const client = new Client({ url: `ldaps://${await stack.ip("ldap")}:636`, tlsOptions: { rejectUnauthorized: false } });
  await client.bind(`cn=admin,${baseDn}`, stack.spec("ldap").secrets.LDAP_ADMIN_PASSWORD);
  try {
    for (let i = 0; i < MEMBERS; i++) {
      const uid = `member${String(i).padStart(5, "0")}`;
      await client.add(`uid=${uid},ou=people,${baseDn}`, {
        objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "assoMember"],
        uid,
        cn: `Member ${i}`,
        sn: `${i}`,
        mail: `${uid}@asso.localhost`,
        uidNumber: String(20000 + i),
        gidNumber: "10000",
        homeDirectory: `/home/${uid}`,
        assoPersonType: "physical",
        userPassword: `bench-password-${uid}`,
      });
    }
  } finally {
    await client.unbind();
  }
}

/**
 * Run a shell script with `volume` of the stack at /v, then give what it wrote to `owner` (uid:gid). Only
 * what is not the owner's yet: a chown changes a file's ctime, and restic reads a file again when it did.
 */
async function writeIntoVolume(stack: RunningStack, volume: string, owner: string, script: string[]): Promise<void> {
  const uid = owner.split(":")[0];
  const lines = ["set -eu", ...script, `find /v ! -user ${uid} -exec chown ${owner} {} +`];
  await dockerOk([
    "run",
    "--rm",
    "--mount",
    `type=volume,source=${stack.prefix}${volume},target=/v`,
    "debian:bookworm-slim",
    "sh",
    "-c",
    lines.join("\n"),
  ]);
}

/** Maildir files written straight into the mailboxes volume (owned by vmail), 100 members, three folders each; each body random (nothing deduplicates). */
async function seedMail(stack: RunningStack, from: number, count: number): Promise<void> {
  await writeIntoVolume(stack, "mail-mailboxes", "5000:5000", [
    `n=${from + count}`,
    `i=${from}`,
    'while [ "$i" -lt "$n" ]; do',
    "  user=member$(printf %05d $((i % 100))); case $((i % 3)) in 0) dir=Maildir/cur ;; 1) dir=Maildir/.Archive/cur ;; *) dir=Maildir/.Sent/cur ;; esac",
    '  mkdir -p "/v/asso.localhost/$user/$dir"',
    '  f="/v/asso.localhost/$user/$dir/$i.bench:2,S"',
    '  printf "From: someone@example.net\\nTo: %s@asso.localhost\\nSubject: message %s\\n\\n" "$user" "$i" > "$f"',
    `  head -c ${BODY_BYTES} /dev/urandom | base64 -w 76 >> "$f"`,
    "  i=$((i + 1))",
    "done",
  ]);
}

/** SQL run in Mattermost's database, where the benchmark keeps its table. */
async function psql(stack: RunningStack, sql: string): Promise<void> {
  const result = await stack.exec("mattermost-db", [
    "psql",
    "-U",
    "mattermost",
    "-d",
    "mattermost",
    "-v",
    "ON_ERROR_STOP=1",
    "-q",
    "-c",
    sql,
  ]);
  if (result.exitCode !== 0) throw new Error(result.stderr);
}

/** Nextcloud files of 4 MB, random, written into the asso tenant's data volume (owned by www-data). */
async function seedFiles(stack: RunningStack, from: number, count: number): Promise<void> {
  if (count === 0) return;
  await writeIntoVolume(stack, "nextcloud-asso-data", "33:33", [
    "mkdir -p /v/alice/files/Photos",
    `for i in $(seq ${from} ${from + count - 1}); do head -c 4M /dev/urandom > /v/alice/files/Photos/$i.jpg; done`,
  ]);
}

async function seedDatabase(stack: RunningStack): Promise<void> {
  // Rows of about 1 KB of hex text (random: it compresses like text, not like a repeated string): DB_MB MB of table data.
  const rows = DB_MB * 1000;
  const sql = `CREATE TABLE posts (id int PRIMARY KEY, body text); INSERT INTO posts SELECT i, (SELECT string_agg(md5(random()::text || i || j), '') FROM generate_series(1, 30) j) FROM generate_series(1, ${rows}) i;`;
  await psql(stack, sql);
}

/** A day on the host: new mail, and rows of the database updated. */
async function dayOfChanges(stack: RunningStack): Promise<void> {
  await seedMail(stack, MESSAGES, DAY_MESSAGES);
  await seedFiles(stack, FILES_MB / 4, DAY_FILES);
  const sql = `UPDATE posts SET body = md5(body) || body WHERE id % ${Math.max(1, Math.floor((DB_MB * 1000) / DAY_ROWS))} = 0;`;
  await psql(stack, sql);
}

async function repositoryBytes(stack: RunningStack): Promise<number> {
  return Number((await stack.exec("backup", ["du", "-sb", "/repository"])).stdout.split(/\s/)[0]);
}

/**
 * One run of the job, and where its time went (the job logs each phase's milliseconds). A night that is not
 * the check day, whatever today is, unless `check`: then a restic check, forget and prune as well.
 */
async function backupRun(stack: RunningStack, check = false): Promise<{ ms: number; phases: string }> {
  const run = check ? ["backup-run", "--check"] : ["env", "BACKUP_CHECK_ON=none", "backup-run"];
  const [result, ms] = await timed(() => stack.exec("backup", run));
  if (result.exitCode !== 0) throw new Error(result.stdout + result.stderr);
  const phase = (pattern: RegExp) => [...result.stdout.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  const phases = [
    `pg_dump ${seconds(phase(/^backup: dumped .*, (\d+) ms\)$/gm))}`,
    `restic backup ${seconds(phase(/^backup: snapshot .* taken: .*\((\d+) ms\)$/gm))}`,
  ];
  if (check) {
    phases.push(`check ${seconds(phase(/^backup: restic check: .*\((\d+) ms\)$/gm))}`);
    phases.push(`forget and prune ${seconds(phase(/^backup: forgot .*\((\d+) ms\)$/gm))}`);
  }
  return { ms, phases: phases.join(", ") };
}

function target(stack: RunningStack): RestoreTarget {
  return {
    docker: (args) => dockerOk(args, { timeoutMs: 1_800_000 }),
    name: (name) => stack.prefix + name,
    existing: async () =>
      (await dockerOk(["ps", "-a", "--format", "{{.Names}}"]))
        .split("\n")
        .filter((name) => name.startsWith(stack.prefix))
        .map((name) => name.slice(stack.prefix.length)),
    startHealthy: async (container) => {
      await stack.start(container);
      await stack.waitHealthy(container, 600_000);
    },
  };
}

async function main(): Promise<void> {
  console.log(
    `bench:backup — ${MEMBERS} members, ${MESSAGES} messages (${SIZES} sizes), a database of ${DB_MB} MB${FILES_MB > 0 ? `, ${FILES_MB} MB of Nextcloud files` : ""} (local stack, restic to a local volume)`,
  );
  let first: RunningStack | undefined;
  let second: RunningStack | undefined;
  const keep = `bench-backup-repository-${process.pid}`;
  try {
    first = await startStack({ stack: "local", containers: CONTAINERS });
    const [, seedMs] = await timed(() =>
      Promise.all([seedDirectory(first!), seedMail(first!, 0, MESSAGES), seedDatabase(first!), seedFiles(first!, 0, FILES_MB / 4)]),
    );
    const exported = await first.exec("ldap-daily", ["ldap-backup"]);
    if (exported.exitCode !== 0) throw new Error(exported.stderr);
    const files = await first.exec("backup", ["sh", "-c", "du -sbc $BACKUP_PATHS | tail -n 1"]);
    console.log(`seeded in ${seconds(seedMs)}: ${megabytes(Number(files.stdout.split(/\s/)[0]))} of files to back up, and the database`);

    const firstRun = await backupRun(first);
    const firstBytes = await repositoryBytes(first);
    const incrementalRun = await backupRun(first);
    const incrementalBytes = await repositoryBytes(first);
    await dayOfChanges(first);
    const dayRun = await backupRun(first);
    const dayBytes = await repositoryBytes(first);
    const checkRun = await backupRun(first, true);
    const checkBytes = await repositoryBytes(first);

    // Restore into new volumes: a second stack, the repository copied over.
    await dockerOk(["volume", "create", keep]);
    const copy = (from: string, to: string) =>
      dockerOk(["run", "--rm", "-v", `${from}:/from:ro`, "-v", `${to}:/to`, "debian:bookworm-slim", "cp", "-a", "/from/.", "/to/"]);
    await copy(`${first.prefix}backup-repository`, keep);
    await first.teardown();
    first = undefined;
    second = await startStack({ stack: "local", containers: CONTAINERS });
    await copy(keep, `${second.prefix}backup-repository`);
    const quiet = () => undefined;
    const [, directoryMailMs] = await timed(async () => {
      await restore(second!.rendered, target(second!), { snapshot: "latest", service: "ldap" }, quiet);
      await restore(second!.rendered, target(second!), { snapshot: "latest", service: "mail" }, quiet);
    });
    const [, databaseMs] = await timed(() =>
      restore(second!.rendered, target(second!), { snapshot: "latest", service: "mattermost" }, quiet),
    );

    const table = new Table({ head: ["step", "time", "of which", "repository size"], style: { head: [], border: [] } });
    const ratio = ((incrementalRun.ms / firstRun.ms) * 100).toFixed(0);
    table.push(
      ["first backup", seconds(firstRun.ms), firstRun.phases, megabytes(firstBytes)],
      [
        `incremental, nothing changed (${ratio} % of the first; target < 10 %)`,
        seconds(incrementalRun.ms),
        incrementalRun.phases,
        megabytes(incrementalBytes),
      ],
      [
        `incremental after a day: ${DAY_MESSAGES} new messages${DAY_FILES > 0 ? `, ${DAY_FILES} new files` : ""}, ${DAY_ROWS} rows updated across the table`,
        seconds(dayRun.ms),
        dayRun.phases,
        megabytes(dayBytes),
      ],
      ["the weekly night: backup, restic check, forget and prune", seconds(checkRun.ms), checkRun.phases, megabytes(checkBytes)],
      ["restore directory + mail into new volumes (target < 5 min)", seconds(directoryMailMs), "", ""],
      [`restore the ${DB_MB} MB database (pg_restore)`, seconds(databaseMs), "", ""],
    );
    console.log(table.toString());
  } finally {
    await first?.teardown();
    await second?.teardown();
    await docker(["volume", "rm", "-f", keep]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
