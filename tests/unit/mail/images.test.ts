import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const MAIL = path.resolve(__dirname, "../../../mail");
const IMAGES = ["postfix", "dovecot", "rspamd"];
const dockerfile = (image: string) => fs.readFileSync(path.join(MAIL, image, "Dockerfile"), "utf8");
const scripts = (image: string) =>
  fs
    .readdirSync(path.join(MAIL, image))
    .filter((file) => file.endsWith(".sh"))
    .map((file) => path.join(MAIL, image, file));

describe("mail images", () => {
  it.each(IMAGES)("%s: builds FROM the BASE_IMAGE argument, lean apt layers, no secrets baked in", (image) => {
    const text = dockerfile(image);
    expect(text).toMatch(/^ARG BASE_IMAGE=debian:bookworm-slim\nFROM \$\{BASE_IMAGE\}$/m);
    const installs = text.match(/apt-get install[^\n]*/g) ?? [];
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toContain("--no-install-recommends");
    expect(text.match(/rm -rf \/var\/lib\/apt\/lists\/\*/g)).toHaveLength(installs.length);
    const instructions = text
      .split("\n")
      .filter((line) => !line.trim().startsWith("#"))
      .join("\n");
    expect(instructions).not.toMatch(/PASSWORD|PRIVATE KEY|ARG .*(SECRET|TOKEN)/i);
  });

  it("share their first layer (same instruction on the same base), counted once in the size budget", () => {
    const firstRun = (image: string) => /^RUN [\s\S]*?\n\n/m.exec(dockerfile(image))?.[0];
    expect(firstRun("postfix")).toContain("libicu72");
    expect(firstRun("dovecot")).toBe(firstRun("postfix"));
    expect(firstRun("rspamd")).toBe(firstRun("postfix"));
  });

  it("run Dovecot and rspamd as their own users; only Postfix starts as root", () => {
    expect(dockerfile("dovecot")).toMatch(/^USER vmail$/m);
    expect(dockerfile("rspamd")).toMatch(/^USER _rspamd$/m);
    expect(dockerfile("postfix")).not.toMatch(/^USER /m);
  });

  it.each(IMAGES)("%s: shell scripts stop on errors and pass shellcheck", (image) => {
    for (const script of scripts(image)) {
      expect(fs.readFileSync(script, "utf8")).toMatch(/^#!\/bin\/(ba)?sh\n(#[^\n]*\n)*set -eu$/m);
      expect(() => execFileSync("shellcheck", [script], { stdio: "pipe" })).not.toThrow();
    }
  });

  it("keeps the two copies of cert-watch.sh identical", () => {
    expect(fs.readFileSync(path.join(MAIL, "dovecot/cert-watch.sh"), "utf8")).toBe(
      fs.readFileSync(path.join(MAIL, "postfix/cert-watch.sh"), "utf8"),
    );
  });
});

describe("TLS policy", () => {
  const setting = (file: string, name: string) =>
    new RegExp(`^${name} = (.+)$`, "m").exec(fs.readFileSync(path.join(MAIL, file), "utf8"))?.[1];
  const script = (file: string) => fs.readFileSync(path.join(MAIL, file), "utf8");

  // The policy itself comes from the stack (platform/tls-policy.ts, tests/unit/foundation/tls-policy.test.ts).
  it("has Postfix use the stack's cipher list and protocol floor on every port", () => {
    expect(setting("postfix/main.cf", "smtpd_tls_ciphers")).toBe("high");
    expect(setting("postfix/main.cf", "smtpd_tls_mandatory_ciphers")).toBe("high");
    for (const applied of [
      '"smtpd_tls_protocols=>=$TLS_MIN_PROTOCOL"',
      '"smtpd_tls_mandatory_protocols=>=$TLS_MIN_PROTOCOL"',
      '"tls_high_cipherlist=$TLS_CIPHER_LIST"',
    ])
      expect(script("postfix/entrypoint.sh")).toContain(applied);
    expect(script("postfix/master.cf")).not.toMatch(/smtpd_tls_(mandatory_)?(ciphers|protocols)|cipherlist/);
  });

  it("has Dovecot include the stack's cipher list and protocol floor", () => {
    expect(script("dovecot/dovecot.conf")).toMatch(/^!include \/run\/dovecot-config\/tls\.conf$/m);
    expect(script("dovecot/entrypoint.sh")).toContain(
      `printf 'ssl_min_protocol = %s\\nssl_cipher_list = %s\\n' "$TLS_MIN_PROTOCOL" "$TLS_CIPHER_LIST" > /run/dovecot-config/tls.conf`,
    );
  });
});

describe("sending-limits.sh (Postfix policy service)", () => {
  const ask = (dir: string, requests: [user: string, recipients: number][]) =>
    execFileSync("bash", [path.join(MAIL, "postfix/sending-limits.sh")], {
      env: { ...process.env, SENDING_LIMITS_CONF: path.join(dir, "limits"), SENDING_LIMITS_STATE: dir },
      input: requests
        .map(([user, n]) => `request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsasl_username=${user}\nrecipient_count=${n}\n\n`)
        .join(""),
    })
      .toString()
      .split("\n\n")
      .filter(Boolean)
      .map((answer) => answer.replace(/^action=/, ""));

  it("defers the message over the hourly limit of messages or of recipients, per login", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sending-limits-"));
    try {
      fs.writeFileSync(path.join(dir, "limits"), "MESSAGES=3\nRECIPIENTS=5\n");
      const answers = ask(dir, [
        ["a@x", 1],
        ["a@x", 1],
        ["a@x", 4],
        ["a@x", 3],
        ["b@x", 5],
        ["a@x", 1],
        ["a@x", 1],
        ["", 50],
      ]);
      expect(answers).toEqual([
        "DUNNO",
        "DUNNO",
        "451 4.7.1 sending limit: a@x wrote to 2 recipients in the last hour (limit 5); try again later",
        "DUNNO",
        "DUNNO",
        "451 4.7.1 sending limit: a@x sent 3 messages in the last hour (limit 3); try again later",
        "451 4.7.1 sending limit: a@x sent 3 messages in the last hour (limit 3); try again later",
        "DUNNO",
      ]);
      // Earlier than an hour ago no longer counts.
      fs.writeFileSync(path.join(dir, "a@x"), `${Math.floor(Date.now() / 1000) - 3601} 5\n`);
      expect(ask(dir, [["a@x", 5]])).toEqual(["DUNNO"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts a member's Sieve redirects and vacation replies (no login: the envelope sender) in the same hour as their submissions", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sending-limits-"));
    const sieve = (sender: string) => `request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=${sender}\nrecipient_count=1\n\n`;
    try {
      fs.writeFileSync(path.join(dir, "limits"), "MESSAGES=2\nRECIPIENTS=5\n");
      expect(ask(dir, [["a@x", 1]])).toEqual(["DUNNO"]);
      const answers = execFileSync("bash", [path.join(MAIL, "postfix/sending-limits.sh")], {
        env: { ...process.env, SENDING_LIMITS_CONF: path.join(dir, "limits"), SENDING_LIMITS_STATE: dir },
        input: sieve("a@x") + sieve("a@x") + sieve(""),
      }).toString();
      expect(answers.split("\n\n").filter(Boolean)).toEqual([
        "action=DUNNO",
        "action=451 4.7.1 sending limit: a@x sent 2 messages in the last hour (limit 2); try again later",
        "action=DUNNO",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cert-watch.sh", () => {
  it("runs the reload command when the certificate changes, and not before", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cert-watch-"));
    const certificate = path.join(dir, "tls.crt");
    const marker = path.join(dir, "reloaded");
    fs.writeFileSync(certificate, "first certificate");
    const watcher = spawn("sh", [path.join(MAIL, "postfix/cert-watch.sh"), `touch ${marker}`], {
      env: { ...process.env, CERT_FILE: certificate, CERT_WATCH_SECONDS: "0.2" },
      stdio: "ignore",
    });
    try {
      await new Promise((r) => setTimeout(r, 700));
      expect(fs.existsSync(marker)).toBe(false);
      fs.writeFileSync(certificate, "renewed certificate");
      const deadline = Date.now() + 5000;
      while (!fs.existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.existsSync(marker)).toBe(true);
    } finally {
      watcher.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
