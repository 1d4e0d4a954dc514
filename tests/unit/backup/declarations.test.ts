import { describe, expect, it } from "vitest";
import { declarationProblems, type VolumeBackupSummary } from "../../../platform/backup";
import { SECRETS_DIR } from "../../../platform/container";
import { formatText, toPlan } from "../../../stacks/plan-format";
import { listStacks, renderStack, type RenderedStack } from "../../../stacks/render";
import { restorePlan } from "../../../stacks/restore";

/** The volumes that hold data: all but the container factory's secret files (made from the stack at every deploy). */
function dataVolumes(rendered: RenderedStack): string[] {
  const secrets = new Set(rendered.containers.flatMap((c) => c.volumes.filter((v) => v.target === SECRETS_DIR).map((v) => v.source)));
  return rendered.volumes.map((v) => v.name).filter((name) => !secrets.has(name));
}

describe("backup declarations", () => {
  it.each(listStacks())("every data volume of stack %s says what its backup keeps, or why nothing", async (stack) => {
    const rendered = await renderStack(stack);
    expect(declarationProblems(dataVolumes(rendered), rendered.outputs.backup.volumes)).toEqual([]);
  });

  it("refuses a volume without a declaration, naming it and what to write", () => {
    const declared: VolumeBackupSummary[] = [{ volume: "mail-mailboxes", keep: "files", detail: "files copied live" }];
    expect(declarationProblems(["mail-mailboxes", "wiki-data"], declared)).toEqual([
      'volume wiki-data: no backup declaration; say what is kept and how (context.volume(name, parent, { keep: ... })), or { keep: "nothing", because: "..." }',
    ]);
  });

  it("backs up the mailboxes and the directory's export live, and the databases only through pg_dump", async () => {
    const rendered = await renderStack("local");
    const backup = rendered.containers.find((c) => c.name === "backup");
    const mounted = Object.fromEntries((backup?.volumes ?? []).map((v) => [v.source, v]));
    expect(mounted["mail-mailboxes"]).toMatchObject({ target: "/data/mail-mailboxes", readOnly: true });
    expect(mounted["ldap-backup"]).toMatchObject({ target: "/data/ldap-backup", readOnly: true });
    // A live PostgreSQL data directory is never copied: it is dumped over the database's network.
    expect(mounted["mattermost-db-data"]).toBeUndefined();
    expect(backup?.networks).toContain("mattermost");
    expect(backup?.env.BACKUP_DATABASES.split(" ")).toContain("mattermost-db/mattermost/mattermost");
  });

  it("hands the repository key and the databases' passwords to the job as files, never in its environment", async () => {
    const rendered = await renderStack("local");
    const backup = rendered.containers.find((c) => c.name === "backup");
    expect(backup?.env.RESTIC_PASSWORD_FILE).toBe("/run/secrets/RESTIC_PASSWORD");
    expect(backup?.env.PGPASS_FILE).toBe("/run/secrets/PGPASS");
    const env = JSON.stringify(backup?.env);
    for (const secret of rendered.secrets.filter((s) => s.length >= 8)) expect(env).not.toContain(secret);
  });
});

describe("the plan's backup section", () => {
  it("says per host where and when the backup runs, and what it keeps of each volume", async () => {
    const text = formatText(toPlan(await renderStack("pica02")));
    expect(text).toContain(
      "Backup: every day at 03:30 UTC to s3:https://garage.picasoft.example.org/backups/pica02; keeps 7 daily, 4 weekly, 6 monthly snapshots; restic check and prune on sundays",
    );
    expect(text).toContain("  mail-mailboxes: files (files copied live)");
    expect(text).toContain("  ldap-data: elsewhere (kept through ldap-backup: slapcat export of the data)");
  });

  it("lists the databases a host dumps in its JSON form", async () => {
    const plan = toPlan(await renderStack("pica01"));
    expect(plan.backup.volumes.filter((v) => v.keep === "dump").map((v) => v.detail)).toEqual([
      "pg_dump of database mattermost on mattermost-db",
      "pg_dump of database nextcloud on nextcloud-asso-db",
      "pg_dump of database nextcloud on nextcloud-transition-db",
    ]);
  });
});

describe("restore plan", () => {
  it("restores the directory from its export, the mailboxes as files and Mattermost's database from its dump", async () => {
    const plan = restorePlan(await renderStack("local"));
    const of = (service: string) => plan.find((step) => step.service === service);
    expect(of("ldap")).toMatchObject({ volumes: ["ldap-backup"], commands: [{ volume: "ldap-data", container: "ldap-daily" }] });
    expect(of("mail")).toMatchObject({ volumes: ["mail-mailboxes"], databases: [] });
    expect(of("mattermost")?.databases).toEqual([
      { host: "mattermost-db", database: "mattermost", user: "mattermost", network: "mattermost" },
    ]);
    // The database keeps running to receive its dump; the application is stopped meanwhile.
    expect(of("mattermost")?.stop).toEqual(["mattermost"]);
  });

  it("refuses a service that has no backed-up data, naming those that have", async () => {
    const rendered = await renderStack("local");
    expect(() => restorePlan(rendered, "collabora")).toThrow(
      /^--service collabora: no data of that service is backed up on local; it has: ldap, mail, /,
    );
  });
});
