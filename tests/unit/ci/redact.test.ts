import { describe, expect, it } from "vitest";
import { REDACTED, redact, SECRET_VARIABLES, secretValuesFromEnv } from "../../../ci/lib/redact";
import { formatPreviewNote } from "../../../ci/lib/preview-note";

describe("redact", () => {
  it("removes the values of masked CI variables wherever they appear", () => {
    const text = "error: passphrase hunter2-but-longer is wrong; retry with hunter2-but-longer";
    expect(redact(text, ["hunter2-but-longer"])).toBe(`error: passphrase ${REDACTED} is wrong; retry with ${REDACTED}`);
  });

  it("ignores values too short to mask, which would redact ordinary words", () => {
    expect(redact("create 3 containers", ["3", "create"])).toBe("create 3 containers");
  });

  it.each([
    ['      + LDAP_ADMIN_PASSWORD: "s3cr3t-value"', `      + LDAP_ADMIN_PASSWORD: "${REDACTED}"`],
    ['          [0]: "DB_PASSWORD=plain-text-pw"', `          [0]: "DB_PASSWORD=${REDACTED}"`],
    ["    api_key = abcdef0123456789", `    api_key = ${REDACTED}`],
    ['    ~ smtpPassword: "old-one" => "new-one"', `    ~ smtpPassword: "${REDACTED}" => "${REDACTED}"`],
    ["  token: glpat-XXXXXXXXXXXXXXXX", `  token: ${REDACTED}`],
    ["s3://state?endpoint=https://infra:gar4ge-key@garage.example.org", `s3://state?endpoint=https://infra:${REDACTED}@garage.example.org`],
  ])("hides the value in %s", (line, expected) => {
    expect(redact(line)).toBe(expected);
  });

  it("keeps values Pulumi already hid, so the diff stays readable", () => {
    const line = '      + MATTERMOST_DB_PASSWORD: [secret]\n      ~ password: "[secret]" => "[secret]"';
    expect(redact(line)).toBe(line);
  });

  it("leaves ordinary lines alone", () => {
    const line = " +   ├─ docker:index:Container    mattermost      create";
    expect(redact(line)).toBe(line);
  });

  it("removes whole private key blocks, even a truncated one", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----";
    expect(redact(`before\n${key}\nafter`)).toBe("before\n[redacted private key]\nafter");
    expect(redact("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow")).toBe("x\n[redacted private key]");
  });
});

describe("secretValuesFromEnv", () => {
  it("reads the set, non-empty variables among the names", () => {
    const env = { PULUMI_CONFIG_PASSPHRASE: "correct horse", AWS_SECRET_ACCESS_KEY: "", OTHER: "x" };
    expect(secretValuesFromEnv(SECRET_VARIABLES, env)).toEqual(["correct horse"]);
  });
});

describe("a note built from a leaky preview", () => {
  it("carries none of the secrets", () => {
    const env = { PULUMI_CONFIG_PASSPHRASE: "the-passphrase-1", AWS_SECRET_ACCESS_KEY: "aws-secret-key-2" };
    const output = [
      "error: decrypting secret: the-passphrase-1 is not right",
      '      + NEXTCLOUD_ADMIN_PASSWORD: "admin-pw-3"',
      "backend s3 key aws-secret-key-2",
      "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
    ].join("\n");
    const body = formatPreviewNote({ stack: "pica01", exitCode: 1, output: redact(output, secretValuesFromEnv(SECRET_VARIABLES, env)) });
    for (const secret of ["the-passphrase-1", "aws-secret-key-2", "admin-pw-3", "MIIB"]) {
      expect(body).not.toContain(secret);
    }
  });
});
