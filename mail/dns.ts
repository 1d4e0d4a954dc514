import { createHash } from "node:crypto";
import type { DnsRecord } from "../platform/dns";

/**
 * The DNS records a mail domain needs, as pure functions (tested in tests/unit/mail/dns.test.ts).
 * The mail component returns them as `dnsRecords`: `npm run plan` prints them and the stack exports
 * them; `zoneFile` turns them into lines to paste into a BIND zone or a registrar's zone editor.
 */

export interface MailDnsArgs {
  /** The mail domain, e.g. asso.example.org. */
  domain: string;
  /** The MX and submission/IMAP host, e.g. mail.asso.example.org. */
  hostname: string;
  /** Public IPv4 of the mail host; without it no A record is produced (local). */
  publicIpv4?: string;
  dkimSelector: string;
  /** PEM of the DKIM public key (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"). */
  dkimPublicKeyPem: string;
  /** DMARC policy for mail failing SPF and DKIM alignment. */
  dmarcPolicy: "none" | "quarantine" | "reject";
  /** Where DMARC aggregate and TLS reports go. */
  reportAddress: string;
  /** MTA-STS mode: `testing` reports only, `enforce` makes senders require valid TLS. */
  mtaStsMode: "testing" | "enforce";
}

/** `p=` of the DKIM record: the base64 DER of the public key, without the PEM armour. */
export function dkimPublicKeyBase64(publicKeyPem: string): string {
  const body = publicKeyPem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+=*$/.test(body) || body.length === 0) {
    throw new Error("expected a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  return body;
}

/** The TXT value of `<selector>._domainkey.<domain>`. */
export function dkimRecordValue(publicKeyPem: string): string {
  return `v=DKIM1; k=rsa; p=${dkimPublicKeyBase64(publicKeyPem)}`;
}

/** The MTA-STS policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461). */
export function mtaStsPolicy(hostname: string, mode: "testing" | "enforce", maxAgeSeconds = 604800): string {
  return `version: STSv1\nmode: ${mode}\nmx: ${hostname}\nmax_age: ${maxAgeSeconds}\n`;
}

/** The policy id announced in `_mta-sts.<domain>`: changes exactly when the policy text changes. */
export function mtaStsPolicyId(policy: string): string {
  return createHash("sha256").update(policy).digest("hex").slice(0, 16);
}

/** Every record the mail domain needs, sorted by name then type. */
export function mailDnsRecords(args: MailDnsArgs): DnsRecord[] {
  const { domain, hostname } = args;
  const target = `${hostname}.`;
  const policy = mtaStsPolicy(hostname, args.mtaStsMode);
  const records: DnsRecord[] = [
    { name: domain, type: "MX", value: `10 ${target}` },
    // Only our MX sends for the domain; everything else fails SPF.
    { name: domain, type: "TXT", value: "v=spf1 mx -all" },
    { name: `${args.dkimSelector}._domainkey.${domain}`, type: "TXT", value: dkimRecordValue(args.dkimPublicKeyPem) },
    {
      name: `_dmarc.${domain}`,
      type: "TXT",
      value: `v=DMARC1; p=${args.dmarcPolicy}; adkim=s; aspf=s; rua=mailto:${args.reportAddress}`,
    },
    { name: `_mta-sts.${domain}`, type: "TXT", value: `v=STSv1; id=${mtaStsPolicyId(policy)}` },
    { name: `_smtp._tls.${domain}`, type: "TXT", value: `v=TLSRPTv1; rua=mailto:${args.reportAddress}` },
    // Client autoconfiguration (RFC 6186, RFC 5804); plain IMAP and POP3 are not offered ("." = none).
    { name: `_submissions._tcp.${domain}`, type: "SRV", value: `0 1 465 ${target}` },
    { name: `_submission._tcp.${domain}`, type: "SRV", value: `0 1 587 ${target}` },
    { name: `_imaps._tcp.${domain}`, type: "SRV", value: `0 1 993 ${target}` },
    { name: `_imap._tcp.${domain}`, type: "SRV", value: "0 0 0 ." },
    { name: `_pop3._tcp.${domain}`, type: "SRV", value: "0 0 0 ." },
    { name: `_pop3s._tcp.${domain}`, type: "SRV", value: "0 0 0 ." },
    { name: `_sieve._tcp.${domain}`, type: "SRV", value: `0 1 4190 ${target}` },
    ...(args.publicIpv4
      ? [
          { name: hostname, type: "A" as const, value: args.publicIpv4 },
          // The host's web entry (the proxy, 443) serves the MTA-STS policy (see mtaStsPolicy).
          { name: `mta-sts.${domain}`, type: "A" as const, value: args.publicIpv4 },
        ]
      : []),
  ];
  return records.sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));
}

/** TXT data as zone-file strings: quoted, at most 255 characters each (RFC 1035 character-strings). */
export function txtStrings(value: string): string {
  const chunks = value.match(/.{1,255}/g) ?? [""];
  return chunks.map((chunk) => `"${chunk.replace(/(["\\])/g, "\\$1")}"`).join(" ");
}

/** Records as zone-file lines (absolute names, one TTL), ready to paste into the domain's zone. */
export function zoneFile(records: DnsRecord[], ttlSeconds = 3600): string {
  return records
    .map((r) => `${r.name}.\t${ttlSeconds}\tIN\t${r.type}\t${r.type === "TXT" ? txtStrings(r.value) : r.value}`)
    .join("\n")
    .concat("\n");
}
