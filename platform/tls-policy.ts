/**
 * THE TLS policy of every port we serve (Postfix, Dovecot, slapd, the proxy), written once here and
 * rendered into each library's syntax: Mozilla's "intermediate" profile without its CBC, SHA-1 and DHE
 * suites. TLS 1.2 and 1.3 only; on TLS 1.2 only ECDHE key exchange (ECDSA or RSA certificates) with an
 * AEAD cipher (AES-GCM or ChaCha20-Poly1305); TLS 1.3 keeps each library's defaults, which are the same
 * three AEAD suites everywhere. The integration tests scan the ports with testssl.sh against it
 * (tests/helpers/testssl.ts).
 */

/** Key exchange + authentication of the TLS 1.2 suites, by the certificate they need. */
const KEY_EXCHANGES = [
  { certificate: "ECDSA", openssl: "ECDHE-ECDSA", gnutls: "ECDHE-ECDSA", iana: "ECDHE_ECDSA" },
  { certificate: "RSA", openssl: "ECDHE-RSA", gnutls: "ECDHE-RSA", iana: "ECDHE_RSA" },
] as const;

/** AEAD ciphers of the TLS 1.2 suites, in the server's order of preference. */
const CIPHERS = [
  { openssl: "AES128-GCM-SHA256", gnutls: "AES-128-GCM", iana: "AES_128_GCM_SHA256" },
  { openssl: "AES256-GCM-SHA384", gnutls: "AES-256-GCM", iana: "AES_256_GCM_SHA384" },
  { openssl: "CHACHA20-POLY1305", gnutls: "CHACHA20-POLY1305", iana: "CHACHA20_POLY1305_SHA256" },
] as const;

export interface TlsSuite {
  /** The certificate the suite authenticates with. */
  certificate: "ECDSA" | "RSA";
  /** OpenSSL's name (Postfix, Dovecot). */
  openssl: string;
  /** The IANA name: Go's and Traefik's, and what testssl.sh reports. */
  iana: string;
}

/** The TLS 1.2 suites: every key exchange with every cipher, cipher first (the order OpenSSL prefers them in). */
export const TLS12_SUITES: readonly TlsSuite[] = CIPHERS.flatMap((cipher) =>
  KEY_EXCHANGES.map((kx) => ({
    certificate: kx.certificate,
    openssl: `${kx.openssl}-${cipher.openssl}`,
    iana: `TLS_${kx.iana}_WITH_${cipher.iana}`,
  })),
);

/** The TLS 1.3 suites every library offers by default (not configured anywhere: checked by the scans). */
export const TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const;

/** The policy's oldest protocol. */
export const TLS_MIN_VERSION = "1.2";

/** OpenSSL's settings (Postfix `tls_high_cipherlist`, Dovecot `ssl_cipher_list`, and the protocol floor). */
export function opensslPolicy(): { minProtocol: string; cipherList: string } {
  return { minProtocol: `TLSv${TLS_MIN_VERSION}`, cipherList: TLS12_SUITES.map((suite) => suite.openssl).join(":") };
}

/**
 * A GnuTLS priority string (slapd's `olcTLSCipherSuite`; Debian links OpenLDAP with GnuTLS). GnuTLS
 * enables key exchanges, ciphers and MACs as sets, not suite by suite: the TLS 1.2 suites are their
 * product, which is exactly TLS12_SUITES. Its TLS 1.3 suites come from the same cipher set: the three
 * of TLS13_SUITES. Groups and signature algorithms stay NORMAL's.
 * Check one with `gnutls-cli --priority '<string>' -l`.
 */
export function gnutlsPriority(): string {
  return [
    "NORMAL",
    "-VERS-ALL",
    "+VERS-TLS1.3",
    `+VERS-TLS${TLS_MIN_VERSION}`,
    "-KX-ALL",
    ...KEY_EXCHANGES.map((kx) => `+${kx.gnutls}`),
    "-CIPHER-ALL",
    ...CIPHERS.map((cipher) => `+${cipher.gnutls}`),
    "-MAC-ALL",
    "+AEAD",
  ].join(":");
}

/**
 * slapd's settings (cn=config, applied by ldap-entrypoint): `olcTLSProtocolMin` counts as SSL did (3.3 is
 * TLS 1.2), and `olcTLSCipherSuite` is the GnuTLS priority string, which also sets the versions: without
 * it, Debian's slapd offers TLS 1.0 and 1.1 and CBC suites despite `olcTLSProtocolMin: 3.3`.
 */
export function slapdPolicy(): { protocolMin: string; cipherSuite: string } {
  const [major, minor] = TLS_MIN_VERSION.split(".").map(Number);
  return { protocolMin: `${major + 2}.${minor + 1}`, cipherSuite: gnutlsPriority() };
}

/**
 * Traefik's TLS options (dynamic configuration, file provider): the `default` option applies to every
 * router that names none, which is all of ours. `cipherSuites` is Go's list for TLS 1.2; Go does not let
 * TLS 1.3 suites be chosen. Traefik takes TLS options from files, never from container labels.
 */
export function traefikTlsOptions(): string {
  return [
    "# The TLS policy (platform/tls-policy.ts), rendered for Traefik.",
    "tls:",
    "  options:",
    "    default:",
    `      minVersion: VersionTLS${TLS_MIN_VERSION.replace(".", "")}`,
    "      cipherSuites:",
    ...TLS12_SUITES.map((suite) => `        - ${suite.iana}`),
    "",
  ].join("\n");
}
