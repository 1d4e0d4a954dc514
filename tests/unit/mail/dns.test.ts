import { describe, expect, it } from "vitest";
import {
  dkimPublicKeyBase64,
  mailDnsRecords,
  mtaStsPolicy,
  mtaStsPolicyId,
  txtStrings,
  zoneFile,
  type MailDnsArgs,
} from "../../../mail/dns";
import { mockRsaKey } from "../../../stacks/mock-rsa-key";

const KEY = mockRsaKey("dns-test").publicKeyPem;
const ARGS: MailDnsArgs = {
  domain: "asso.example.org",
  hostname: "mail.asso.example.org",
  dkimSelector: "mail",
  dkimPublicKeyPem: KEY,
  dmarcPolicy: "quarantine",
  reportAddress: "postmaster@asso.example.org",
  mtaStsMode: "testing",
};

const find = (name: string, type: string) => mailDnsRecords(ARGS).filter((r) => r.name === name && r.type === type);

describe("mailDnsRecords", () => {
  it("points the domain's MX at the mail host", () => {
    expect(find("asso.example.org", "MX")).toEqual([{ name: "asso.example.org", type: "MX", value: "10 mail.asso.example.org." }]);
  });

  it("lets only the MX send for the domain (SPF hard fail)", () => {
    expect(find("asso.example.org", "TXT").map((r) => r.value)).toEqual(["v=spf1 mx -all"]);
  });

  it("publishes the DKIM public key under the selector", () => {
    const [dkim] = find("mail._domainkey.asso.example.org", "TXT");
    expect(dkim.value).toBe(`v=DKIM1; k=rsa; p=${dkimPublicKeyBase64(KEY)}`);
    expect(dkim.value).not.toMatch(/BEGIN|\s{2}|\n/);
  });

  it("asks receivers to apply the DMARC policy and report to the report address", () => {
    expect(find("_dmarc.asso.example.org", "TXT")[0].value).toBe(
      "v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:postmaster@asso.example.org",
    );
  });

  it("announces MTA-STS with an id that follows the policy, and TLS reporting", () => {
    const policy = mtaStsPolicy("mail.asso.example.org", "testing");
    expect(find("_mta-sts.asso.example.org", "TXT")[0].value).toBe(`v=STSv1; id=${mtaStsPolicyId(policy)}`);
    expect(mtaStsPolicyId(mtaStsPolicy("mail.asso.example.org", "enforce"))).not.toBe(mtaStsPolicyId(policy));
    expect(find("_smtp._tls.asso.example.org", "TXT")[0].value).toBe("v=TLSRPTv1; rua=mailto:postmaster@asso.example.org");
  });

  it("lets mail clients configure themselves (RFC 6186 SRV), offering TLS ports only", () => {
    const srv = Object.fromEntries(
      mailDnsRecords(ARGS)
        .filter((r) => r.type === "SRV")
        .map((r) => [r.name.split(".")[0], r.value]),
    );
    expect(srv).toEqual({
      _submissions: "0 1 465 mail.asso.example.org.",
      _submission: "0 1 587 mail.asso.example.org.",
      _imaps: "0 1 993 mail.asso.example.org.",
      _imap: "0 0 0 .",
      _pop3: "0 0 0 .",
      _pop3s: "0 0 0 .",
      _sieve: "0 1 4190 mail.asso.example.org.",
    });
  });

  it("adds address records for the mail host and mta-sts only when the public IP is known", () => {
    expect(mailDnsRecords(ARGS).filter((r) => r.type === "A")).toEqual([]);
    expect(mailDnsRecords({ ...ARGS, publicIpv4: "203.0.113.12" }).filter((r) => r.type === "A")).toEqual([
      { name: "mail.asso.example.org", type: "A", value: "203.0.113.12" },
      { name: "mta-sts.asso.example.org", type: "A", value: "203.0.113.12" },
    ]);
  });

  it("returns the same records, sorted, for the same input", () => {
    const records = mailDnsRecords(ARGS);
    expect(mailDnsRecords(ARGS)).toEqual(records);
    const keys = records.map((r) => `${r.name} ${r.type}`);
    expect([...keys].sort((a, b) => a.localeCompare(b))).toEqual(keys);
  });
});

describe("dkimPublicKeyBase64", () => {
  it("refuses something that is not a PEM public key", () => {
    expect(() => dkimPublicKeyBase64("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----")).toThrow(
      "expected a PEM public key (-----BEGIN PUBLIC KEY-----)",
    );
  });
});

describe("zoneFile", () => {
  it("splits long TXT data into quoted strings of at most 255 characters", () => {
    const value = "a".repeat(300);
    expect(txtStrings(value)).toBe(`"${"a".repeat(255)}" "${"a".repeat(45)}"`);
    expect(txtStrings('say "hi"')).toBe('"say \\"hi\\""');
  });

  it("writes one absolute-name line per record", () => {
    const zone = zoneFile(mailDnsRecords(ARGS));
    expect(zone).toContain("asso.example.org.\t3600\tIN\tMX\t10 mail.asso.example.org.\n");
    expect(zone).toContain('asso.example.org.\t3600\tIN\tTXT\t"v=spf1 mx -all"\n');
    const dkimLine = zone.split("\n").find((line) => line.startsWith("mail._domainkey."));
    // A 2048-bit key does not fit one character-string: two quoted parts.
    expect(dkimLine?.match(/"[^"]*"/g)).toHaveLength(2);
    expect(zone.trim().split("\n")).toHaveLength(mailDnsRecords(ARGS).length);
  });
});
