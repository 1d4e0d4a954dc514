// `npm run bench:ldap`: the directory of the local stack with 5,000 members — load time, bind and search
// latency (median, p95) on persistent LDAPS connections, and the image size. Prints figures; never fails
// on them (targets: bind+search p95 < 5 ms, image <= 120 MB). Needs Docker; BENCH_MEMBERS and
// BENCH_ITERATIONS change the sizes.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Attribute, Change, type Client } from "ldapts";
import { dockerOk } from "../tests/helpers/docker";
import { startStack } from "../tests/helpers/harness";
import { openDirectory, type DirectorySession } from "../tests/helpers/ldap";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
// Logins before measuring: a running directory's worker threads (16) have each done their first hash and
// kept its memory; a fresh one pays for that once per thread, which is not what members wait for.
const WARMUP = 100;
const PASSWORD = (uid: string) => `bench-password-${uid}`;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const ms = (value: number) => `${value.toFixed(2)} ms`;
const line = (label: string, values: number[]) =>
  console.log(`  ${label.padEnd(34)} median ${ms(percentile(values, 50)).padStart(9)}   p95 ${ms(percentile(values, 95)).padStart(9)}`);

/** 5,000 people like the CLI writes them; passwords in clear are hashed (argon2) by the server. */
async function load(directory: DirectorySession, admin: Client): Promise<void> {
  const members: string[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const uid = `member${String(i).padStart(5, "0")}`;
    const dn = directory.peopleDn(uid);
    await admin.add(dn, {
      objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "ldapPublicKey", "assoMember"],
      uid,
      cn: `Member ${i}`,
      sn: `${i}`,
      mail: `${uid}@asso.localhost`,
      uidNumber: String(20000 + i),
      gidNumber: "10000",
      homeDirectory: `/home/${uid}`,
      loginShell: "/bin/bash",
      assoPersonType: "physical",
      assoMembershipEnd: "20270930000000Z",
      userPassword: PASSWORD(uid),
    });
    members.push(dn);
  }
  for (let i = 0; i < members.length; i += 500) {
    const change = new Change({ operation: "add", modification: new Attribute({ type: "member", values: members.slice(i, i + 500) }) });
    await admin.modify(`cn=members,ou=groups,${directory.baseDn}`, [change]);
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:ldap — ${MEMBERS} members, ${ITERATIONS} iterations after ${WARMUP} warm-up logins (targets: bind+search p95 < 5 ms, image <= 120 MB)`,
  );
  const stack = await startStack({ stack: "local", containers: ["ldap"], stackHealthInterval: true });
  try {
    const size = Number((await dockerOk(["image", "inspect", "-f", "{{.Size}}", stack.spec("ldap").image])).trim());
    console.log(`  image ${stack.spec("ldap").image}: ${(size / 1e6).toFixed(1)} MB`);

    const directory = await openDirectory(stack);
    const admin = await directory.bound(directory.adminDn, directory.adminPassword);
    const started = performance.now();
    await load(directory, admin);
    await admin.unbind();
    console.log(`  load ${MEMBERS} members over LDAPS: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // Logins are measured on a settled directory, not under the disk writes the bulk import left behind.
    await stack.exec("ldap", ["sync"]);
    await sleep(5000);

    // What a consumer does per login: its service account finds the person, then binds as them.
    const service = await directory.bound(`cn=mail,ou=services,${directory.baseDn}`, directory.servicePassword("mail"));
    const user = await directory.client();
    const search: number[] = [];
    const bind: number[] = [];
    const both: number[] = [];
    for (let i = -WARMUP; i < ITERATIONS; i++) {
      const uid = `member${String(Math.floor(Math.random() * MEMBERS)).padStart(5, "0")}`;
      const t0 = performance.now();
      const { searchEntries } = await service.search(`ou=people,${directory.baseDn}`, {
        filter: `(&(objectClass=inetOrgPerson)(mail=${uid}@asso.localhost))`,
        attributes: ["uid", "mail", "memberOf"],
      });
      const t1 = performance.now();
      await user.bind(searchEntries[0].dn, PASSWORD(uid));
      const t2 = performance.now();
      if (i < 0) continue;
      search.push(t1 - t0);
      bind.push(t2 - t1);
      both.push(t2 - t0);
    }
    await service.unbind();
    await user.unbind();
    line("search by mail (service account)", search);
    line("bind as the member (argon2)", bind);
    line("bind+search", both);
    console.log("  (a bind verifies an argon2id hash: m=4096 KiB, t=3, p=1, through libsodium; that cost is the point of it)");
  } finally {
    await stack.teardown();
  }
}

main().catch((error) => {
  // Exit once stderr is written: containers' sockets may still hold the event loop open.
  process.stderr.write(`bench:ldap: ${(error as Error).message}\n`, () => process.exit(1));
});
