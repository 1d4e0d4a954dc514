import { describe, expect, it } from "vitest";
import { checkSshKey } from "../../../platform/ssh-key";

/** A blob in SSH wire format: each field length-prefixed. */
function blob(...fields: (string | Buffer)[]): string {
  return Buffer.concat(
    fields.map((data) => {
      const bytes = Buffer.from(data);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  ).toString("base64");
}
const ed25519 = `ssh-ed25519 ${blob("ssh-ed25519", Buffer.alloc(32, 1))}`;
const rsa = (bits: number) =>
  `ssh-rsa ${blob("ssh-rsa", Buffer.from([1, 0, 1]), Buffer.concat([Buffer.from([0]), Buffer.alloc(bits / 8, 0xff)]))}`;

// The rule the members CLI and the account page share; each words the refusal itself
// (tests/unit/ldap/validate.test.ts for the CLI's messages).
describe("the SSH key rule (platform/ssh-key.ts)", () => {
  it.each([
    ["an ed25519 key with a comment, trimmed", `  ${ed25519} jeanne@laptop \n`, `${ed25519} jeanne@laptop`],
    ["an ECDSA key", `ecdsa-sha2-nistp256 ${blob("ecdsa-sha2-nistp256", "nistp256", Buffer.alloc(65, 4))}`, undefined],
    ["RSA of 4096 bits", rsa(4096), undefined],
    ["RSA of 2048 bits", rsa(2048), undefined],
  ])("accepts %s", (_what, key, kept) => {
    expect(checkSshKey(key)).toEqual({ ok: true, key: kept ?? key });
  });

  it.each([
    ["RSA of 1024 bits", rsa(1024), { problem: "weak-rsa", bits: 1024 }],
    [
      "an ed25519 blob under the ssh-rsa prefix",
      `ssh-rsa ${blob("ssh-ed25519", Buffer.alloc(32, 1))}`,
      { problem: "wrong-data", type: "ssh-rsa" },
    ],
    ["a key cut short", ed25519.slice(0, 40), { problem: "wrong-data", type: "ssh-ed25519" }],
    ["a DSA key", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", { problem: "unsupported-type", type: "ssh-dss" }],
    ["key data that is not base64", "ssh-ed25519 not*base64", { problem: "not-base64" }],
    ["two keys on two lines", `${ed25519}\n${ed25519}`, { problem: "not-a-key" }],
    ["words", "not a key at all", { problem: "unsupported-type", type: "not" }],
    ["an empty line", "", { problem: "not-a-key" }],
  ])("refuses %s", (_what, key, refusal) => {
    expect(checkSshKey(key)).toEqual({ ok: false, ...refusal });
  });
});
