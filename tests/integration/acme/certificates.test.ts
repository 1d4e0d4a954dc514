/**
 * The directory's and the mail server's certificates from ACME, for real: the `local` stack rendered with
 * `tls: acme` against pebble (Let's Encrypt's test server, tests/integration/acme/pebble.ts), its
 * ldap-acme, mail-acme, slapd, rspamd, Postfix and Dovecot containers started from the rendered stack. From an
 * empty volume to the daemons serving the issued certificate, then a renewal picked up without a restart,
 * and a slapd that waits for its certificate instead of crash-looping.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, dockerOk } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { alice, seedPeople } from "../../helpers/mail";
import { renderVariant } from "../../helpers/rendered";
import { missingTools } from "../../setup/preflight";
import { ACME_TOOLS, servedCertificate, startPebble, type Pebble } from "./pebble";

const engine = dockerAvailable(); // throws when CI=true and no engine answers
const missing = missingTools(ACME_TOOLS);
if (missing.length > 0 && process.env.CI === "true") {
  throw new Error(`CI=true but the certificate scenarios cannot run: ${missing.join("; ")}`);
}

const DOMAIN = "asso.localhost";
const LDAP_NAME = `ldap.${DOMAIN}`;
const MAIL_NAME = `mail.${DOMAIN}`;
// Postfix answers 454 to STARTTLS when its milter (rspamd) is missing: it runs too.
const CONTAINERS = ["ldap-acme", "mail-acme", "ldap", "mail-rspamd", "mail-dovecot", "mail-postfix"];

/** The certificates of a full-chain PEM file, leaf first. */
function chainOf(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

describe.skipIf(!engine || missing.length > 0)("certificates from an ACME server (pebble)", () => {
  let pebble: Pebble;
  let stack: RunningStack;
  let root: X509Certificate;
  let rootPem: string;

  const installed = async (acme: string): Promise<string> => {
    const result = await stack.exec(acme, ["cat", "/tls/tls.crt"]);
    if (result.exitCode !== 0) throw new Error(`no certificate in ${acme}: ${result.stderr}`);
    return result.stdout;
  };
  /** The whole log (the harness's `logs` keeps the last lines, and slapd logs every operation). */
  const allLogs = async (name: string) => {
    const result = await docker(["logs", stack.prefix + name]);
    return result.stdout + result.stderr;
  };
  const state = async (name: string) =>
    (
      await dockerOk([
        "inspect",
        "-f",
        "{{.State.StartedAt}} {{.RestartCount}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
        stack.prefix + name,
      ])
    ).trim();
  const served = async (container: string, port: number, name: string, starttls?: "smtp" | "ldap") =>
    servedCertificate({ ip: await stack.ip(container), port, name, root: rootPem, starttls });
  const until = async <T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms (last: ${JSON.stringify(value)})`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };

  beforeAll(async () => {
    pebble = await startPebble();
    const rendered = await renderVariant("local", (c) => {
      c["infra:acmeEmail"] = `tech@${DOMAIN}`;
      c["infra:acme"] = {
        server: pebble.server,
        serverCa: pebble.serverCa,
        dns: {
          provider: "httpreq",
          env: {
            HTTPREQ_ENDPOINT: pebble.hook,
            HTTPREQ_USERNAME: pebble.hookUser,
            HTTPREQ_POLLING_INTERVAL: "1",
            HTTPREQ_PROPAGATION_TIMEOUT: "30",
          },
          // Encrypted in the stack file: the render gives it a mock value, which the hook then requires.
          credentials: { HTTPREQ_PASSWORD: { secure: "v1:dGVzdA==:aG9vaw==" } },
          resolvers: [pebble.dns],
          // challtestsrv answers TXT but not SOA: lego cannot find the zone's authoritative servers.
          completePropagation: false,
        },
        // The daemons look for a renewed certificate every 5 s here (a minute on a host).
        reloadCheckSeconds: 5,
      };
      c["infra:services"].ldap.tls = "acme";
      c["infra:services"].mail.tls = { source: "acme" };
    });
    // The registrar's password reaches lego as a secret file (HTTPREQ_PASSWORD_FILE), never in its env.
    pebble.acceptPassword(rendered.containers.find((c) => c.name === "ldap-acme")?.secrets.HTTPREQ_PASSWORD ?? "");
    stack = await startStack({ rendered, containers: CONTAINERS });
    rootPem = await pebble.issuingRoot();
    root = new X509Certificate(rootPem);
  });
  afterAll(async () => {
    await stack?.teardown();
    await pebble?.stop();
  });

  it("an empty volume gets a certificate issued by the ACME server, proved with a DNS record through the registrar hook", async () => {
    for (const [acme, name] of [
      ["ldap-acme", LDAP_NAME],
      ["mail-acme", MAIL_NAME],
    ]) {
      expect(await allLogs(acme)).toContain(`obtaining a certificate for ${name} from ${pebble.server}`);
      expect(pebble.presented).toContain(`_acme-challenge.${name}.`);
      const [leaf, ...intermediates] = chainOf(await installed(acme));
      expect(leaf.checkHost(name)).toBe(name);
      expect(intermediates).toHaveLength(1);
      expect(leaf.verify(intermediates[0].publicKey)).toBe(true);
      expect(intermediates[0].verify(root.publicKey)).toBe(true);
    }
    expect(pebble.refused).toBe(0);
  });

  it("writes the key for the daemon's user only (openldap, vmail), the certificate for everyone", async () => {
    const modes = async (acme: string) =>
      (await stack.exec(acme, ["stat", "-c", "%n %u:%g %a", "/tls/tls.key", "/tls/tls.crt"])).stdout.trim().split("\n");
    expect(await modes("ldap-acme")).toEqual(["/tls/tls.key 100:101 600", "/tls/tls.crt 100:101 644"]);
    expect(await modes("mail-acme")).toEqual(["/tls/tls.key 5000:5000 600", "/tls/tls.crt 5000:5000 644"]);
  });

  it("slapd serves the issued certificate on 636 (LDAPS) and with StartTLS on 389", async () => {
    const expected = chainOf(await installed("ldap-acme"))[0].fingerprint256;
    for (const [port, starttls] of [
      [636, undefined],
      [389, "ldap"],
    ] as const) {
      const answer = await served("ldap", port, LDAP_NAME, starttls);
      expect(answer.verify).toBe("0 (ok)");
      expect(answer.chainLength).toBe(2);
      expect(new X509Certificate(answer.pem).fingerprint256).toBe(expected);
    }
    // The copy the directory's clients trust (ldap-certificate volume) is that certificate too.
    expect(chainOf((await stack.exec("ldap", ["cat", "/etc/ldap/certificate/tls.crt"])).stdout)[0].fingerprint256).toBe(expected);
  });

  it("postfix offers the issued certificate with STARTTLS on 25 and 587, and on 465; Dovecot on 993", async () => {
    const expected = chainOf(await installed("mail-acme"))[0].fingerprint256;
    for (const [container, port, starttls] of [
      ["mail-postfix", 25, "smtp"],
      ["mail-postfix", 587, "smtp"],
      ["mail-postfix", 465, undefined],
      ["mail-dovecot", 993, undefined],
    ] as const) {
      const answer = await served(container, port, MAIL_NAME, starttls);
      expect(answer.verify, `${container}:${port}`).toBe("0 (ok)");
      expect(answer.pem, `${container}:${port}`).toContain("BEGIN CERTIFICATE");
      expect(new X509Certificate(answer.pem).fingerprint256, `${container}:${port}`).toBe(expected);
    }
  });

  it("Postfix and Dovecot still read the directory over LDAPS, trusting its issued certificate (the ldap-certificate copy)", async () => {
    await seedPeople(stack, [alice]);
    const mailbox = await stack.exec("mail-postfix", ["postmap", "-q", alice.mail, "ldap:/etc/postfix/ldap/mailboxes.cf"]);
    expect(mailbox.exitCode, mailbox.stderr).toBe(0);
    expect(mailbox.stdout.trim()).not.toBe("");
    const user = await stack.exec("mail-dovecot", ["doveadm", "user", alice.mail]);
    expect(user.exitCode, user.stderr).toBe(0);
    expect(user.stdout).toMatch(/^uid\tvmail$/m);
    // The lookup answers (an unknown user is 67, EX_NOUSER), not fails (75, what a refused TLS connection gives).
    expect((await stack.exec("mail-dovecot", ["doveadm", "user", `nobody@${DOMAIN}`])).exitCode).toBe(67);
  });

  it("a renewed certificate is served without restarting slapd, Postfix or Dovecot", async () => {
    const daemons = ["ldap", "mail-postfix", "mail-dovecot"];
    const before = Object.fromEntries(await Promise.all(daemons.map(async (name) => [name, await state(name)])));
    const old = { ldap: chainOf(await installed("ldap-acme"))[0], mail: chainOf(await installed("mail-acme"))[0] };

    // What an operator does to renew at once; the daily check takes the same path when the certificate is due.
    for (const acme of ["ldap-acme", "mail-acme"]) await dockerOk(["kill", "--signal", "USR1", stack.prefix + acme]);
    const renewed = {
      ldap: chainOf(
        await until(
          "ldap-acme installs a new certificate",
          () => installed("ldap-acme"),
          (pem) => chainOf(pem)[0].serialNumber !== old.ldap.serialNumber,
          60_000,
        ),
      )[0],
      mail: chainOf(
        await until(
          "mail-acme installs a new certificate",
          () => installed("mail-acme"),
          (pem) => chainOf(pem)[0].serialNumber !== old.mail.serialNumber,
          60_000,
        ),
      )[0],
    };
    expect(renewed.ldap.verify(old.ldap.publicKey)).toBe(false); // a new key too

    // The daemons' watchers look every reloadCheckSeconds (5 s here).
    const servedBy = async (container: string, port: number, name: string, starttls?: "smtp") =>
      new X509Certificate((await served(container, port, name, starttls)).pem).serialNumber;
    const waits = [
      until(
        "slapd serves the renewed certificate",
        () => servedBy("ldap", 636, LDAP_NAME),
        (serial) => serial === renewed.ldap.serialNumber,
        30_000,
      ),
      until(
        "Postfix serves the renewed certificate",
        () => servedBy("mail-postfix", 25, MAIL_NAME, "smtp"),
        (serial) => serial === renewed.mail.serialNumber,
        30_000,
      ),
      until(
        "Dovecot serves the renewed certificate",
        () => servedBy("mail-dovecot", 993, MAIL_NAME),
        (serial) => serial === renewed.mail.serialNumber,
        30_000,
      ),
    ];
    await Promise.all(waits);

    for (const name of daemons) expect(await state(name), name).toBe(before[name]);
    expect(await allLogs("ldap")).toMatch(/ldap-cert-watch: \/etc\/ldap\/tls\/tls\.crt changed; slapd now serves it/);
    const published = chainOf((await stack.exec("ldap", ["cat", "/etc/ldap/certificate/tls.crt"])).stdout)[0];
    expect(published.serialNumber).toBe(renewed.ldap.serialNumber);
  });

  it("slapd, Dovecot and Postfix wait for their certificate, unhealthy and saying why, and start once it is installed", async () => {
    const waiting = [
      { daemon: "ldap", acme: "ldap-acme", says: "ldap-entrypoint: waiting for tls.crt and tls.key in /etc/ldap/tls" },
      { daemon: "mail-dovecot", acme: "mail-acme", says: "entrypoint: waiting for tls.crt and tls.key in /tls (TLS_MODE=acme)" },
      { daemon: "mail-postfix", acme: "mail-acme", says: "entrypoint: waiting for tls.crt and tls.key in /tls" },
    ];
    for (const name of ["ldap", "mail-postfix", "mail-dovecot", "ldap-acme", "mail-acme"]) await stack.stop(name);
    for (const acme of ["ldap-acme", "mail-acme"]) {
      const wiped = await stack.runOnVolumes(acme, ["sh", "-c", "rm /tls/tls.crt /tls/tls.key"]);
      expect(wiped.exitCode, wiped.stderr).toBe(0);
    }

    for (const { daemon } of waiting) await stack.start(daemon);
    for (const { daemon, says } of waiting) {
      await until(
        `${daemon}'s wait message`,
        () => allLogs(daemon),
        (logs) => logs.includes(says),
        20_000,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    for (const { daemon } of waiting) {
      const [, restarts, status, health] = (await state(daemon)).split(" ");
      expect({ daemon, restarts, status }).toEqual({ daemon, restarts: "0", status: "running" });
      expect(health, daemon).not.toBe("healthy");
    }

    await stack.start("ldap-acme");
    await stack.start("mail-acme");
    for (const { daemon } of waiting) await stack.waitHealthy(daemon, 60_000);
    expect(await allLogs("ldap")).toMatch(/ldap-entrypoint: certificate found after \d+ s/);
    // Put back from lego's state, not ordered again.
    expect(await allLogs("ldap-acme")).toMatch(/no renewal/);
    expect((await served("ldap", 636, LDAP_NAME)).verify).toBe("0 (ok)");
    expect((await served("mail-dovecot", 993, MAIL_NAME)).verify).toBe("0 (ok)");
  });
});
