/**
 * `npm run bench:mail`: local delivery throughput of the mail server (SMTP on 25 -> rspamd -> LMTP ->
 * Dovecot), first with the directory-backed Postfix maps, then with the same Postfix switched to static
 * texthash maps generated from the same people, in the same run; plus the size of the mail images
 * (layers shared between them, like the Debian base, counted once). Prints figures; never fails on them.
 * Targets: LDAP/static >= 0.8, >= 50 messages/s, all mail images <= 250 MB.
 */
import { docker, dockerOk } from "../tests/helpers/docker";
import type { RunningStack } from "../tests/helpers/harness";
import { DOMAIN, seedPeople, SmtpSession, startMailStack, type Person } from "../tests/helpers/mail";

const PEOPLE = 50;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 600);
const CONNECTIONS = 8;
const IMAGES = ["infra/mail-postfix:local", "infra/mail-dovecot:local", "infra/mail-rspamd:local"];

const people: Person[] = Array.from({ length: PEOPLE }, (_, i) => {
  const uid = `bench${String(i).padStart(3, "0")}`;
  return { uid, mail: `${uid}@${DOMAIN}`, password: `${uid}-Secret-1`, aliases: [`alias-${uid}@${DOMAIN}`] };
});

/** Every third message goes to an alias, the others to a mailbox: both maps are exercised. */
const recipient = (n: number) => (n % 3 === 0 ? people[n % PEOPLE].aliases[0] : people[n % PEOPLE].mail);

async function deliveredCount(stack: RunningStack): Promise<number> {
  const result = await stack.exec("mail-dovecot", ["sh", "-c", "find /var/mail -path '*/Maildir/new/*' -type f | wc -l"]);
  return Number(result.stdout.trim());
}

/** Send `count` messages over CONNECTIONS sessions; messages/s until the last one is in its mailbox. */
async function throughput(stack: RunningStack, label: string, count: number): Promise<number> {
  const mx = await stack.ip("mail-postfix");
  const before = await deliveredCount(stack);
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const session = await SmtpSession.open(mx, 25);
      try {
        for (let n = next++; n < count; n = next++) await session.mail("sender@example.net", recipient(n), `${label} ${n}`);
      } finally {
        await session.close();
      }
    }),
  );
  while ((await deliveredCount(stack)) < before + count) await new Promise((r) => setTimeout(r, 200));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return count / seconds;
}

/** Point Postfix at texthash maps holding the same people and aliases, then reload it. */
async function useStaticMaps(stack: RunningStack): Promise<void> {
  const write = async (file: string, lines: string[]) => {
    const result = await stack.exec("mail-postfix", ["sh", "-c", `cat > /etc/postfix/static/${file}`], { input: lines.join("\n") + "\n" });
    if (result.exitCode !== 0) throw new Error(`cannot write ${file}: ${result.stderr}`);
  };
  await write(
    "mailboxes",
    people.map((p) => `${p.mail} OK`),
  );
  await write(
    "aliases",
    people.flatMap((p) => p.aliases.map((alias) => `${alias} ${p.mail}`)),
  );
  await write(
    "senders",
    people.flatMap((p) => [p.mail, ...p.aliases].map((address) => `${address} ${p.mail}`)),
  );
  const reload = await stack.exec("mail-postfix", [
    "sh",
    "-c",
    "postconf -e virtual_mailbox_maps=texthash:/etc/postfix/static/mailboxes virtual_alias_maps=texthash:/etc/postfix/static/aliases " +
      "'smtpd_sender_login_maps=texthash:/etc/postfix/static/senders, texthash:/etc/postfix/service-senders' && postfix reload",
  ]);
  if (reload.exitCode !== 0) throw new Error(`cannot switch to static maps: ${reload.stderr}`);
  await new Promise((r) => setTimeout(r, 3000));
}

/** Size of the images together, each layer counted once (shared base and shared first layer). */
export async function imagesSizeMb(images: string[]): Promise<{ perImage: Record<string, number>; totalMb: number }> {
  const layers = new Map<string, number>();
  const perImage: Record<string, number> = {};
  for (const image of images) {
    const rows = (
      await dockerOk(["history", "--no-trunc", "--human=false", "--format", "{{.ID}}|{{.Size}}|{{.CreatedAt}}|{{.CreatedBy}}", image])
    )
      .trim()
      .split("\n");
    perImage[image] = Number((await dockerOk(["image", "inspect", "-f", "{{.Size}}", image])).trim()) / 1e6;
    // A layer is the same when its instruction and parent chain are the same: key by the whole chain below it.
    let chain = "";
    for (const row of rows.reverse()) {
      const [, size, , createdBy] = row.split("|");
      chain += `\n${createdBy}`;
      layers.set(chain, Number(size));
    }
  }
  return { perImage, totalMb: [...layers.values()].reduce((a, b) => a + b, 0) / 1e6 };
}

async function main(): Promise<void> {
  if ((await docker(["info"])).exitCode !== 0) throw new Error("no Docker engine answers `docker info`");
  console.log(`mail benchmark: ${MESSAGES} messages to ${PEOPLE} people over ${CONNECTIONS} SMTP connections, per map type`);
  const stack = await startMailStack();
  try {
    await seedPeople(stack, people);
    await throughput(stack, "warm-up", 30);
    const ldap = await throughput(stack, "ldap", MESSAGES);
    await useStaticMaps(stack);
    await throughput(stack, "warm-up static", 30);
    const fixed = await throughput(stack, "static", MESSAGES);
    console.log(`delivery with LDAP maps:   ${ldap.toFixed(1)} messages/s (target >= 50)`);
    console.log(`delivery with static maps: ${fixed.toFixed(1)} messages/s`);
    console.log(`ratio LDAP/static:         ${(ldap / fixed).toFixed(2)} (target >= 0.8)`);
  } finally {
    await stack.teardown();
  }
  const sizes = await imagesSizeMb(IMAGES);
  for (const [image, mb] of Object.entries(sizes.perImage)) console.log(`image ${image}: ${mb.toFixed(1)} MB`);
  console.log(`all mail images, shared layers counted once: ${sizes.totalMb.toFixed(1)} MB (target <= 250)`);
}

main().catch((error) => {
  // Exit once stderr is written: containers' sockets may still hold the event loop open.
  process.stderr.write(`bench:mail: ${error instanceof Error ? error.stack : String(error)}\n`, () => process.exit(1));
});
