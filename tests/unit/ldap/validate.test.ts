import { describe, expect, it } from "vitest";
import {
  validateAll,
  parseDate,
  parseDays,
  parseEmail,
  parseMoment,
  parseName,
  parseNewEmail,
  parseNewUid,
  parsePersonType,
  parseRole,
  parseSshKey,
  parseUid,
  UsageError,
} from "../../../ldap/members/validate";

/** The message a person reads for a bad argument (all problems of a call joined by newlines). */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  return "accepted";
}

function sshField(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
const ED25519 = `ssh-ed25519 ${Buffer.concat([sshField(Buffer.from("ssh-ed25519")), sshField(Buffer.alloc(32, 7))]).toString("base64")}`;
/** An ssh-rsa blob: type, exponent, modulus of the given size. */
function rsaKey(bits: number): string {
  const modulus = Buffer.concat([Buffer.from([0]), Buffer.alloc(bits / 8, 0xff)]);
  return `ssh-rsa ${Buffer.concat([sshField(Buffer.from("ssh-rsa")), sshField(Buffer.from([1, 0, 1])), sshField(modulus)]).toString("base64")}`;
}

const UID_EXPECTED = "expected 2 to 32 lower-case letters, digits, '.', '_' or '-', starting with a letter (e.g. jdupont)";
const KEY_EXPECTED = "expected one OpenSSH public key line such as 'ssh-ed25519 AAAAC3Nza... jeanne@laptop' (the .pub file)";

describe("parseUid", () => {
  it.each([
    ["jdupont", "accepted"],
    ["j.dupont-2", "accepted"],
    ["Jdupont", `--uid 'Jdupont': not a valid uid; ${UID_EXPECTED}`],
    ["2pac", `--uid '2pac': not a valid uid; ${UID_EXPECTED}`],
    ["j", `--uid 'j': not a valid uid; ${UID_EXPECTED}`],
    ["jean dupont", `--uid 'jean dupont': not a valid uid; ${UID_EXPECTED}`],
    ["a".repeat(33), `--uid '${"a".repeat(33)}': not a valid uid; ${UID_EXPECTED}`],
    ["root)(uid=*", `--uid 'root)(uid=*': not a valid uid; ${UID_EXPECTED}`],
  ])("%s -> %s", (value, message) => {
    expect(messageOf(() => parseUid(value, "--uid"))).toBe(message);
  });
});

describe("parseNewUid", () => {
  const LOCAL = "is a local system account of the hosts; expected a personal login that is no system account (e.g. jdupont)";
  it.each([
    ["jdupont", "accepted"],
    ["root", `--uid 'root': ${LOCAL}`],
    ["deploy", `--uid 'deploy': ${LOCAL}`],
    ["www-data", `--uid 'www-data': ${LOCAL}`],
    ["systemd-network", `--uid 'systemd-network': ${LOCAL}`],
    ["Root", `--uid 'Root': not a valid uid; ${UID_EXPECTED}`],
  ])("%s -> %s", (value, message) => {
    expect(messageOf(() => parseNewUid(value))).toBe(message);
  });
});

describe("parseNewEmail", () => {
  const ROLE = "is a role address of the mail server; expected the member's own address (e.g. jeanne.dupont@example.org)";
  it.each([
    ["jeanne@asso.localhost", "accepted"],
    ["postmaster@asso.localhost", `--email 'postmaster@asso.localhost': ${ROLE}`],
    ["Abuse@asso.localhost", `--email 'Abuse@asso.localhost': ${ROLE}`],
    ["jeanne", "--email 'jeanne': not an email address; expected an address such as jeanne.dupont@example.org"],
  ])("%s -> %s", (value, message) => {
    expect(messageOf(() => parseNewEmail(value))).toBe(message);
  });
});

describe("parseEmail", () => {
  it.each([
    ["jeanne@asso.example.org", "accepted"],
    ["jeanne", "--email 'jeanne': not an email address; expected an address such as jeanne.dupont@example.org"],
    ["jeanne@localhost", "--email 'jeanne@localhost': not an email address; expected an address such as jeanne.dupont@example.org"],
    ["jea nne@example.org", "--email 'jea nne@example.org': not an email address; expected an address such as jeanne.dupont@example.org"],
    ["a..b@example.org", "--email 'a..b@example.org': not an email address; expected an address such as jeanne.dupont@example.org"],
  ])("%s -> %s", (value, message) => {
    expect(messageOf(() => parseEmail(value))).toBe(message);
  });

  it("keeps addresses in lower case, so that duplicates are found whatever the case", () => {
    expect(parseEmail("Jeanne@Example.ORG")).toBe("jeanne@example.org");
  });
});

describe("parseDate", () => {
  it.each([
    ["2026-09-30", "accepted"],
    ["2028-02-29", "accepted"],
    ["2027-02-29", "--until '2027-02-29': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30"],
    ["30/09/2026", "--until '30/09/2026': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30"],
    ["2026-9-30", "--until '2026-9-30': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30"],
    ["2026-13-01", "--until '2026-13-01': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30"],
  ])("%s -> %s", (value, message) => {
    expect(messageOf(() => parseDate(value, "--until"))).toBe(message);
  });

  it("gives the LDAP GeneralizedTime of the day's start in UTC", () => {
    expect(parseDate("2026-09-30", "--until")).toBe("20260930000000Z");
  });
});

describe("parseMoment and parseDays", () => {
  it.each([
    ["2026-11-28", "2026-11-28T00:00:00.000Z"],
    ["2026-11-28T12:30:00Z", "2026-11-28T12:30:00.000Z"],
  ])("reads --now %s", (value, iso) => {
    expect(parseMoment(value).toISOString()).toBe(iso);
  });

  it.each([
    [() => parseMoment("yesterday"), "--now 'yesterday': not a date or time; expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)"],
    [
      () => parseMoment("2026-11-28T12:00"),
      "--now '2026-11-28T12:00': not a date or time; expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)",
    ],
    [() => parseDays("30"), "--expiring '30': not a number of days; expected a number of days such as 30d"],
    [() => parseDays("0d"), "--expiring '0d': not a number of days; expected a number of days such as 30d"],
  ])("refuses with: %s", (run, message) => {
    expect(messageOf(run)).toBe(message);
  });

  it("reads 30d as 30", () => {
    expect(parseDays("30d")).toBe(30);
  });
});

describe("parseSshKey", () => {
  it.each([
    ["an ed25519 key", ED25519, "accepted"],
    ["an ed25519 key with a comment", `${ED25519} jeanne@laptop`, "accepted"],
    ["a 4096-bit RSA key", rsaKey(4096), "accepted"],
    ["an empty line", "", `--ssh-key '': not an SSH public key; ${KEY_EXPECTED}`],
    ["a type without data", "ssh-ed25519", `--ssh-key 'ssh-ed25519': not an SSH public key; ${KEY_EXPECTED}`],
    [
      "a DSA key",
      "ssh-dss AAAAB3NzaC1kc3M=",
      "--ssh-key 'ssh-dss AAAAB3NzaC1kc3M=': unsupported key type 'ssh-dss'; expected one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com",
    ],
    [
      "data that is not base64",
      "ssh-ed25519 not*base64",
      `--ssh-key 'ssh-ed25519 not*base64': the key data is not base64; ${KEY_EXPECTED}`,
    ],
    [
      "an ed25519 blob labelled ssh-rsa",
      ED25519.replace("ssh-ed25519", "ssh-rsa"),
      `--ssh-key '${ED25519.replace("ssh-ed25519", "ssh-rsa").slice(0, 37)}...': the key data does not hold a ssh-rsa key (cut short, or of another type); ${KEY_EXPECTED}`,
    ],
    [
      "a blob cut short",
      ED25519.slice(0, 40) + "AA==",
      `--ssh-key '${(ED25519.slice(0, 40) + "AA==").slice(0, 37)}...': the key data does not hold a ssh-ed25519 key (cut short, or of another type); ${KEY_EXPECTED}`,
    ],
    [
      "a 1024-bit RSA key",
      rsaKey(1024),
      `--ssh-key '${rsaKey(1024).slice(0, 37)}...': RSA key of 1024 bits is too weak; expected an ed25519 key, or RSA of 2048 bits or more`,
    ],
    [
      "two keys in one argument",
      `${ED25519}\n${ED25519}`,
      `--ssh-key '${ED25519.slice(0, 37)}...': not an SSH public key; ${KEY_EXPECTED}`,
    ],
  ])("%s", (_label, value, message) => {
    expect(messageOf(() => parseSshKey(value))).toBe(message);
  });
});

describe("names, types and roles", () => {
  it.each([
    [() => parseName("  Jeanne   Dupont "), "accepted"],
    [() => parseName("   "), "--name '   ': not a usable name; expected the person's or organisation's name, 1 to 128 characters"],
    [
      () => parsePersonType("company"),
      "--type 'company': unknown person type; expected physical (a person) or legal (an association, a company)",
    ],
    [() => parseRole("root"), "--role 'root': unknown role; expected member, tech (logins on the hosts) or admin (tech + sudo)"],
  ])("%#: %s", (run, message) => {
    expect(messageOf(run)).toBe(message);
  });

  it("tidies the spaces of a name", () => {
    expect(parseName("  Jeanne   Dupont ")).toBe("Jeanne Dupont");
  });
});

describe("validateAll", () => {
  it("reports every problem of a command together, in argument order", () => {
    expect(
      messageOf(() =>
        validateAll({
          uid: () => parseUid("X", "--uid"),
          mail: () => parseEmail("jeanne@example.org"),
          until: () => parseDate("soon", "--until"),
        }),
      ),
    ).toBe(
      `--uid 'X': not a valid uid; ${UID_EXPECTED}\n--until 'soon': not a date; expected a date written YYYY-MM-DD, such as 2026-09-30`,
    );
  });

  it("returns the parsed values when all are valid", () => {
    expect(validateAll({ uid: () => parseUid("jdupont"), days: () => parseDays("7d") })).toEqual({ uid: "jdupont", days: 7 });
  });
});
