import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { gnutlsPriority, opensslPolicy, slapdPolicy, TLS12_SUITES, traefikTlsOptions } from "../../../platform/tls-policy";
import { PROXY_TLS_FILE } from "../../../services/proxy/component";
import { renderStack, type RenderedStack } from "../../../stacks/render";
import type { RenderedContainer } from "../../../stacks/rendered";

const ROOT = path.resolve(__dirname, "../../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The TLS 1.2 suites of Mozilla's "intermediate" profile without CBC, SHA-1 and DHE (IANA names). */
const INTERMEDIATE_AEAD = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

describe("the TLS policy (platform/tls-policy.ts)", () => {
  it("is TLS 1.2's ECDHE suites with AES-GCM or ChaCha20-Poly1305, nothing else", () => {
    expect(TLS12_SUITES.map((suite) => suite.iana)).toEqual(INTERMEDIATE_AEAD);
    for (const suite of TLS12_SUITES) expect(suite.iana).not.toMatch(/_CBC_|_SHA$|^TLS_RSA_|_DHE_/);
  });

  it("renders OpenSSL's names for Postfix and Dovecot", () => {
    expect(opensslPolicy()).toEqual({
      minProtocol: "TLSv1.2",
      cipherList:
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    });
  });

  it("renders a GnuTLS priority string and slapd's protocol floor (3.3 is TLS 1.2)", () => {
    expect(slapdPolicy()).toEqual({
      protocolMin: "3.3",
      cipherSuite:
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD",
    });
  });

  // GnuTLS names its suites without _WITH and without the SHA256 of ChaCha20; the TLS 1.3 ones as IANA does.
  // gnutls-cli is a preflight tool of the unit layer (tests/setup/preflight.ts): no silent skip.
  it("gives GnuTLS exactly the policy's TLS 1.2 suites and the three TLS 1.3 ones (gnutls-cli -l)", () => {
    const listing = execFileSync("gnutls-cli", ["--priority", gnutlsPriority(), "-l"], { encoding: "utf8" });
    const suites = [...listing.matchAll(/^(TLS_\w+)\s+0x\w\w, 0x\w\w\s+(TLS1\.\d)$/gm)].map((m) => `${m[2]} ${m[1]}`);
    const gnutlsName = (iana: string) => iana.replace("_WITH_", "_").replace(/POLY1305_SHA256$/, "POLY1305");
    expect(suites.sort()).toEqual(
      [
        ...["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"].map((name) => `TLS1.3 ${name}`),
        ...INTERMEDIATE_AEAD.map((name) => `TLS1.2 ${gnutlsName(name)}`),
      ].sort(),
    );
    expect(listing).toMatch(/^Protocols: VERS-TLS1\.3, VERS-TLS1\.2$/m);
  });

  it("renders Traefik's default TLS options: TLS 1.2 at least, Go's names of the same suites", () => {
    expect(parse(traefikTlsOptions())).toEqual({
      tls: { options: { default: { minVersion: "VersionTLS12", cipherSuites: INTERMEDIATE_AEAD } } },
    });
  });
});

describe("every daemon that serves TLS gets the one policy from the stack", () => {
  const stacks: Record<string, RenderedStack> = {};
  beforeAll(async () => {
    for (const name of ["local", "pica01", "pica02"]) stacks[name] = await renderStack(name);
  });
  const all = (name: string): RenderedContainer[] =>
    Object.values(stacks).flatMap((stack) => stack.containers.filter((c) => c.name === name));

  it("Postfix and Dovecot: OpenSSL's protocol floor and cipher list", () => {
    const daemons = [...all("mail-postfix"), ...all("mail-dovecot")];
    expect(daemons.length).toBeGreaterThanOrEqual(2);
    const { minProtocol, cipherList } = opensslPolicy();
    for (const daemon of daemons) expect(daemon.env).toMatchObject({ TLS_MIN_PROTOCOL: minProtocol, TLS_CIPHER_LIST: cipherList });
  });

  it("slapd: olcTLSProtocolMin and the GnuTLS priority string", () => {
    const daemons = all("ldap");
    expect(daemons.length).toBeGreaterThanOrEqual(1);
    const { protocolMin, cipherSuite } = slapdPolicy();
    for (const daemon of daemons)
      expect(daemon.env).toMatchObject({ LDAP_TLS_PROTOCOL_MIN: protocolMin, LDAP_TLS_CIPHER_SUITE: cipherSuite });
  });

  it("the proxy: Traefik reads the default TLS options from the file its start writes", () => {
    const proxies = all("proxy");
    expect(proxies).toHaveLength(3);
    for (const proxy of proxies) {
      expect(proxy.env.PROXY_TLS_OPTIONS).toBe(traefikTlsOptions());
      expect(proxy.command).toContain(`--providers.file.filename=${PROXY_TLS_FILE}`);
      expect(proxy.entrypoint.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
      expect(proxy.entrypoint[2]).toContain(`"$PROXY_TLS_OPTIONS" > ${PROXY_TLS_FILE} && exec traefik "$@"`);
      // Written into a tmpfs: the root filesystem stays read-only.
      expect(proxy.readOnly).toBe(true);
      expect(Object.keys(proxy.tmpfs)).toContain(path.dirname(PROXY_TLS_FILE));
    }
  });

  it("the wrapper writes the options and starts traefik with the proxy's arguments", () => {
    const proxy = stacks.local.containers.find((c) => c.name === "proxy")!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proxy-start-"));
    try {
      // The same script, with the file moved into a scratch folder and traefik replaced by echo.
      const script = proxy.entrypoint[2].replace(PROXY_TLS_FILE, path.join(dir, "tls.yml")).replace("exec traefik", "exec echo traefik");
      const out = execFileSync("/bin/sh", ["-c", script, "proxy", ...proxy.command], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, PROXY_TLS_OPTIONS: proxy.env.PROXY_TLS_OPTIONS },
      });
      expect(out.trim()).toBe(["traefik", ...proxy.command].join(" "));
      expect(fs.readFileSync(path.join(dir, "tls.yml"), "utf8")).toBe(traefikTlsOptions());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the images carry no cipher list of their own and refuse to start without the stack's", () => {
    for (const file of ["mail/postfix/main.cf", "mail/dovecot/dovecot.conf", "ldap/image/config/cn-config.ldif"]) {
      const settings = read(file)
        .split("\n")
        .filter((line) => !line.startsWith("#"))
        .join("\n");
      expect(settings, file).not.toMatch(
        /ECDHE|GCM|CHACHA|^(tls_high_cipherlist|ssl_cipher_list|ssl_min_protocol|smtpd_tls_protocols) *=/m,
      );
    }
    expect(read("ldap/image/config/cn-config.ldif")).toMatch(/^olcTLSCipherSuite: @TLS_CIPHER_SUITE@$/m);
    for (const script of ["mail/postfix/entrypoint.sh", "mail/dovecot/entrypoint.sh"]) {
      expect(read(script), script).toContain(': "${TLS_MIN_PROTOCOL:?}" "${TLS_CIPHER_LIST:?}"');
    }
    expect(read("ldap/image/bin/ldap-entrypoint")).toContain("LDAP_TLS_PROTOCOL_MIN and LDAP_TLS_CIPHER_SUITE are required");
  });
});
