import { randomBytes } from "node:crypto";
import { Attribute, Change } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restore, type RestoreTarget } from "../../../stacks/restore";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import {
  adminClient,
  alice,
  bob,
  buildClientImage,
  message,
  readFolder,
  seedPeople,
  submissionAs,
  swaks,
  waitForSubject,
} from "../../helpers/mail";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dkimVerify } = require("mailauth/lib/dkim/verify") as {
  dkimVerify(
    message: Buffer,
    options: { resolver: (name: string, type: string) => Promise<string[][]> },
  ): Promise<{ results: { status: { result: string }; signingDomain: string; selector: string }[] }>;
};

/** The directory, the mail server and the databases of the rendered local stack, and its backup. */
const CONTAINERS = [
  "ldap",
  "ldap-daily",
  "mail-rspamd",
  "mail-dovecot",
  "mail-postfix",
  "mattermost-db",
  "nextcloud-asso-db",
  "nextcloud-transition-db",
  "backup",
];
const ALICE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupRestoreScenarioKeyOfAliceOnly0000000 alice@laptop";
const ROWS = "SELECT id, name, joined, encode(sha256(note::bytea), 'hex') FROM members ORDER BY id";

/** Messages sent before the backup starts; then one after the other until it ends. */
const IN_FLIGHT_BEFORE = 3;
const inFlightBody = (i: number) => `Message ${i} of the delivery during the backup.\n${"x".repeat(2000)}\nEND-OF-MESSAGE-${i}`;

/** The restore's docker CLI, on the harness's names (per-run prefix). */
function harnessTarget(stack: RunningStack): RestoreTarget {
  return {
    docker: (args) => dockerOk(args, { timeoutMs: 600_000 }),
    name: (name) => stack.prefix + name,
    existing: async () =>
      (await dockerOk(["ps", "-a", "--format", "{{.Names}}"]))
        .split("\n")
        .filter((name) => name.startsWith(stack.prefix))
        .map((name) => name.slice(stack.prefix.length)),
    startHealthy: async (container) => {
      await stack.start(container);
      await stack.waitHealthy(container);
    },
  };
}

/** The DKIM result of a received message against the stack's published records. */
async function dkim(stack: RunningStack, received: string): Promise<string[][]> {
  const records = stack.rendered.dns;
  const result = await dkimVerify(Buffer.from(received), {
    resolver: async (name, type) => {
      const found = records.filter((r) => r.name === name && r.type === type).map((r) => [r.value]);
      if (found.length === 0) throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
      return found;
    },
  });
  return result.results.map((r) => [r.signingDomain, r.selector, r.status.result]);
}

const psql = (stack: RunningStack, sql: string) =>
  stack.exec("mattermost-db", ["psql", "-U", "mattermost", "-d", "mattermost", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]);

/**
 * One backup of a seeded host, every container and volume removed, then a new host from the same rendered
 * stack, restored with `npm run restore`'s code: the scenarios check what the members find again.
 */
describe.runIf(dockerAvailable())("backup and restore of the local stack", () => {
  let before: RunningStack | undefined;
  let after: RunningStack;
  const keep = `it-backup-repository-${randomBytes(3).toString("hex")}`;
  const tag = Date.now();
  const subjects = { inbox: `kept in the INBOX ${tag}`, filed: `[sieve] kept in Junk ${tag}`, signed: `signed before ${tag}` };
  let rowsBefore = "";
  let backupLog = "";
  let volumesLeft: string[] = [];
  /** Messages accepted while the backup ran, when the old server delivered each, and when the snapshot began. */
  const inFlight: number[] = [];
  const deliveredAt = new Map<number, number>();
  let snapshotStart = 0;
  let backupStarted: () => void = () => undefined;

  beforeAll(async () => {
    await buildClientImage();
    before = await startStack({ stack: "local", containers: CONTAINERS });
    const mx = await before.ip("mail-postfix");
    const imap = await before.ip("mail-dovecot");

    // Directory: people with passwords, alice with an SSH key.
    await seedPeople(before, [alice, bob]);
    const admin = await adminClient(before);
    try {
      const baseDn = before.spec("ldap").env.LDAP_BASE_DN;
      await admin.modify(`uid=alice,ou=people,${baseDn}`, [
        new Change({ operation: "add", modification: new Attribute({ type: "objectClass", values: ["ldapPublicKey"] }) }),
        new Change({ operation: "add", modification: new Attribute({ type: "sshPublicKey", values: [ALICE_KEY] }) }),
      ]);
    } finally {
      await admin.unbind();
    }

    // Mail: bob's Sieve script files "[sieve]" into Junk; a message in each folder, one DKIM-signed by alice.
    const script = 'require "fileinto";\nif header :contains "subject" "[sieve]" { fileinto "Junk"; stop; }\n';
    const put = await before.exec("mail-dovecot", ["doveadm", "sieve", "put", "-u", bob.mail, "-a", "filters"], { input: script });
    expect(put.exitCode, put.stderr).toBe(0);
    for (const [subject, via] of [
      [subjects.inbox, []],
      [subjects.filed, []],
      [subjects.signed, submissionAs(alice)],
    ] as const) {
      const from = via.length > 0 ? alice.mail : "someone@example.net";
      const sent = await swaks(["--server", mx, ...via, ...message(from, bob.mail, subject)]);
      expect(sent.exitCode, sent.transcript).toBe(0);
    }
    await waitForSubject(imap, bob, subjects.inbox);
    await waitForSubject(imap, bob, subjects.signed);
    await waitForSubject(imap, bob, subjects.filed, { folder: "Junk" });

    // A database with rows, text that is not ASCII included.
    const created = await psql(
      before,
      "CREATE TABLE members (id int PRIMARY KEY, name text NOT NULL, joined date, note text);" +
        "INSERT INTO members SELECT i, 'membre ' || i || ' é', DATE '2020-01-01' + i, repeat(md5(i::text), 20) FROM generate_series(1, 500) i;",
    );
    expect(created.exitCode, created.stderr).toBe(0);
    rowsBefore = (await psql(before, ROWS)).stdout;

    // The nightly sequence, now: the directory's export, then the backup.
    const exported = await before.exec("ldap-daily", ["ldap-backup"]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    // Mail keeps arriving while the backup runs: one message after the other, from before it starts to after it ends.
    let backupDone = false;
    let next = 0;
    const sending = (async () => {
      while (!backupDone) {
        const i = next++;
        const sent = await swaks(["--server", mx, ...message("someone@example.net", bob.mail, `in flight ${i} ${tag}`, inFlightBody(i))]);
        if (sent.exitCode === 0) inFlight.push(i);
        if (next === IN_FLIGHT_BEFORE) backupStarted();
      }
    })();
    await new Promise<void>((resolve) => (backupStarted = resolve));
    const run = await before.exec("backup", ["backup-run"]);
    backupDone = true;
    await sending;
    backupLog = run.stdout + run.stderr;
    expect(run.exitCode, backupLog).toBe(0);
    // When the snapshot began (restic's time), and when the old server delivered each message (its Maildir name).
    const snapshots = await before.exec("backup", ["sh", "-c", ". backup-env; restic snapshots --latest 1 --json"]);
    snapshotStart = Math.floor(Date.parse((JSON.parse(snapshots.stdout) as { time: string }[])[0].time) / 1000);
    for (const i of inFlight) await waitForSubject(imap, bob, `in flight ${i} ${tag}`);
    const delivered = await before.exec("mail-dovecot", [
      "grep",
      "-r",
      "-H",
      "^Subject: in flight",
      "/var/mail/asso.localhost/bob/Maildir",
    ]);
    for (const line of delivered.stdout.split("\n").filter(Boolean)) {
      const [, seconds, i] = /\/(\d+)\.[^/]*:Subject: in flight (\d+) /.exec(line) ?? [];
      if (seconds) deliveredAt.set(Number(i), Number(seconds));
    }

    // The repository outlives the host (it is off-site in production): kept aside, then everything else goes.
    await dockerOk(["volume", "create", keep]);
    await dockerOk([
      "run",
      "--rm",
      "--mount",
      `type=volume,source=${before.prefix}backup-repository,target=/from,readonly`,
      "--mount",
      `type=volume,source=${keep},target=/to`,
      "debian:bookworm-slim",
      "cp",
      "-a",
      "/from/.",
      "/to/",
    ]);
    const prefix = before.prefix;
    await before.teardown();
    before = undefined;
    volumesLeft = (await dockerOk(["volume", "ls", "-q", "--filter", `name=${prefix}`])).split("\n").filter(Boolean);

    // A new host: fresh volumes, first start of every daemon, then the restore of the latest snapshot.
    after = await startStack({ stack: "local", containers: CONTAINERS });
    await dockerOk([
      "run",
      "--rm",
      "--mount",
      `type=volume,source=${keep},target=/from,readonly`,
      "--mount",
      `type=volume,source=${after.prefix}backup-repository,target=/to`,
      "debian:bookworm-slim",
      "cp",
      "-a",
      "/from/.",
      "/to/",
    ]);
    await restore(after.rendered, harnessTarget(after), { snapshot: "latest" }, () => undefined);
  }, 900_000);

  afterAll(async () => {
    await before?.teardown();
    await after?.teardown();
    await docker(["volume", "rm", "-f", keep]);
  });

  it("takes a snapshot of the directory's export, the mailboxes and the databases' dumps", () => {
    expect(backupLog).toMatch(/backup: dumped mattermost on mattermost-db/);
    expect(backupLog).toMatch(/backup: snapshot [0-9a-f]{8} taken/);
    expect(volumesLeft).toEqual([]);
  });

  it("restores the people: they bind with their old passwords, alice's SSH key is back", async () => {
    const { Client } = await import("ldapts");
    const baseDn = after.spec("ldap").env.LDAP_BASE_DN;
    const client = new Client({ url: `ldaps://${await after.ip("ldap")}:636`, tlsOptions: { rejectUnauthorized: false } });
    try {
      await client.bind(`uid=alice,ou=people,${baseDn}`, alice.password);
      const { searchEntries } = await client.search(`uid=alice,ou=people,${baseDn}`, { attributes: ["sshPublicKey"] });
      expect(searchEntries[0].sshPublicKey).toBe(ALICE_KEY);
      await client.unbind();
      await client.bind(`uid=bob,ou=people,${baseDn}`, bob.password);
    } finally {
      await client.unbind();
    }
  });

  it("restores the messages of every folder, read over IMAPS with the old password", async () => {
    const imap = await after.ip("mail-dovecot");
    const inbox = (await readFolder(imap, bob.mail, bob.password, "INBOX")).join("\n");
    expect(inbox).toContain(subjects.inbox);
    expect(inbox).toContain(subjects.signed);
    expect((await readFolder(imap, bob.mail, bob.password, "Junk")).join("\n")).toContain(subjects.filed);
  });

  it("restores the Sieve scripts: a new message is filed as before", async () => {
    const title = `[sieve] filed after the restore ${tag}`;
    const sent = await swaks(["--server", await after.ip("mail-postfix"), ...message("someone@example.net", bob.mail, title)]);
    expect(sent.exitCode, sent.transcript).toBe(0);
    await waitForSubject(await after.ip("mail-dovecot"), bob, title, { folder: "Junk" });
  });

  it("keeps the DKIM key: the old signature and a new one verify against the published record", async () => {
    const imap = await after.ip("mail-dovecot");
    const old = await waitForSubject(imap, bob, subjects.signed);
    expect(await dkim(after, old)).toEqual([["asso.localhost", "mail", "pass"]]);
    const title = `signed after the restore ${tag}`;
    const sent = await swaks(["--server", await after.ip("mail-postfix"), ...submissionAs(alice), ...message(alice.mail, bob.mail, title)]);
    expect(sent.exitCode, sent.transcript).toBe(0);
    expect(await dkim(after, await waitForSubject(imap, bob, title))).toEqual([["asso.localhost", "mail", "pass"]]);
  });

  it("loses no message delivered during the backup: each is restored whole, or was still on its way when the snapshot began", async () => {
    expect(inFlight.length).toBeGreaterThan(IN_FLIGHT_BEFORE);
    const restored = (await readFolder(await after.ip("mail-dovecot"), bob.mail, bob.password, "INBOX")).join("\n");
    for (const i of inFlight) {
      const delivered = deliveredAt.get(i);
      expect(delivered, `message ${i} was accepted but never delivered by the old server`).toBeDefined();
      if (restored.includes(`in flight ${i} ${tag}`)) expect(restored).toContain(`END-OF-MESSAGE-${i}`);
      // Delivered before the snapshot began: it must be in it.
      else
        expect(
          delivered!,
          `message ${i}, delivered at ${delivered} before the snapshot (${snapshotStart}), is missing`,
        ).toBeGreaterThanOrEqual(snapshotStart);
    }
  });

  it("restores the database: the rows are identical", async () => {
    const rowsAfter = await psql(after, ROWS);
    expect(rowsAfter.exitCode, rowsAfter.stderr).toBe(0);
    expect(rowsAfter.stdout.split("\n").length).toBeGreaterThan(500);
    expect(rowsAfter.stdout).toBe(rowsBefore);
  });
});
