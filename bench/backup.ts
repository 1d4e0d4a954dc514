// `npm run bench:backup`: the backup of the local stack with a seeded data set — time and repository size
// of a first backup and of an incremental one (nothing changed), and the time of a restore into new
// volumes (directory + mail, then the database). Prints figures; never fails on them (targets: incremental
// < 10 % of the first backup's time; restore of directory + mail < 5 minutes). Needs Docker.
// BENCH_MEMBERS, BENCH_MESSAGES and BENCH_DB_MB change the sizes (defaults: 5,000 members, 20,000
// messages of about 3 KiB, a 100 MB database: the data set).
import { performance } from "node:perf_hooks";
import { Client } from "ldapts";
import Table from "cli-table3";
import { restore, type RestoreTarget } from "../stacks/restore";
import { docker, dockerOk } from "../tests/helpers/docker";
import { startStack, type RunningStack } from "../tests/helpers/harness";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20000);
const DB_MB = Number(process.env.BENCH_DB_MB ?? 100);
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

/** Maildir files written straight into the mailboxes volume (owned by vmail), 100 members, three folders each; each body random (nothing deduplicates). */
async function seedMail(stack: RunningStack): Promise<void> {
  const script = [
    "set -eu",
    `n=${MESSAGES}`,
    "i=0",
    'while [ "$i" -lt "$n" ]; do',
    "  user=member$(printf %05d $((i % 100))); case $((i % 3)) in 0) dir=Maildir/cur ;; 1) dir=Maildir/.Archive/cur ;; *) dir=Maildir/.Sent/cur ;; esac",
    '  mkdir -p "/v/asso.localhost/$user/$dir"',
    '  f="/v/asso.localhost/$user/$dir/$i.bench:2,S"',
    '  printf "From: someone@example.net\\nTo: %s@asso.localhost\\nSubject: message %s\\n\\n" "$user" "$i" > "$f"',
    '  head -c 2400 /dev/urandom | base64 -w 76 >> "$f"',
    "  i=$((i + 1))",
    "done",
    "chown -R 5000:5000 /v",
  ].join("\n");
  await dockerOk([
    "run",
    "--rm",
    "--mount",
    `type=volume,source=${stack.prefix}mail-mailboxes,target=/v`,
    "debian:bookworm-slim",
    "sh",
    "-c",
    script,
  ]);
}

async function seedDatabase(stack: RunningStack): Promise<void> {
  // Rows of about 1 KB of hex text (random: it compresses like text, not like a repeated string): DB_MB MB of table data.
  const rows = DB_MB * 1000;
  const sql = `CREATE TABLE posts (id int PRIMARY KEY, body text); INSERT INTO posts SELECT i, (SELECT string_agg(md5(random()::text || i || j), '') FROM generate_series(1, 30) j) FROM generate_series(1, ${rows}) i;`;
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

async function repositoryBytes(stack: RunningStack): Promise<number> {
  return Number((await stack.exec("backup", ["du", "-sb", "/repository"])).stdout.split(/\s/)[0]);
}

/** One run of the job: its time, and where it went (the job logs each phase's milliseconds). */
async function backupRun(stack: RunningStack): Promise<{ ms: number; phases: string }> {
  const [result, ms] = await timed(() => stack.exec("backup", ["backup-run"]));
  if (result.exitCode !== 0) throw new Error(result.stdout + result.stderr);
  const phase = (pattern: RegExp) => [...result.stdout.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  const dumps = phase(/^backup: dumped .*, (\d+) ms\)$/gm);
  const snapshot = phase(/^backup: snapshot .* taken \((\d+) ms\)$/gm);
  const forget = phase(/^backup: forgot .*\((\d+) ms\)$/gm);
  return { ms, phases: `pg_dump ${seconds(dumps)}, restic backup ${seconds(snapshot)}, forget ${seconds(forget)}` };
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
  console.log(`bench:backup — ${MEMBERS} members, ${MESSAGES} messages, a database of ${DB_MB} MB (local stack, restic to a local volume)`);
  let first: RunningStack | undefined;
  let second: RunningStack | undefined;
  const keep = `bench-backup-repository-${process.pid}`;
  try {
    first = await startStack({ stack: "local", containers: CONTAINERS });
    const [, seedMs] = await timed(() => Promise.all([seedDirectory(first!), seedMail(first!), seedDatabase(first!)]));
    const exported = await first.exec("ldap-daily", ["ldap-backup"]);
    if (exported.exitCode !== 0) throw new Error(exported.stderr);
    console.log(`seeded in ${seconds(seedMs)}`);

    const firstRun = await backupRun(first);
    const firstBytes = await repositoryBytes(first);
    const incrementalRun = await backupRun(first);
    const incrementalBytes = await repositoryBytes(first);

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
