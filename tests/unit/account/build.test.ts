import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSshKey } from "../../../account/app/ssh-key";
import { BUNDLE_FILE, bundleAccountApp } from "../../../account/bundle";
import { parseSshKey, UsageError } from "../../../ldap/members/validate";

function field(data: string | Buffer): Buffer {
  const bytes = Buffer.from(data);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
const blob = (...fields: (string | Buffer)[]) => Buffer.concat(fields.map(field)).toString("base64");
const rsa = (bits: number) =>
  `ssh-rsa ${blob("ssh-rsa", Buffer.from([1, 0, 1]), Buffer.concat([Buffer.from([0]), Buffer.alloc(bits / 8, 0xff)]))}`;

describe("the account page's image", () => {
  it("copies the bundle of the current sources (run npm run build:account after changing account/app)", async () => {
    expect(fs.readFileSync(BUNDLE_FILE, "utf8") === (await bundleAccountApp())).toBe(true);
  });

  it.each([
    [`ssh-ed25519 ${blob("ssh-ed25519", Buffer.alloc(32, 1))} me@laptop`],
    [`ecdsa-sha2-nistp256 ${blob("ecdsa-sha2-nistp256", "nistp256", Buffer.alloc(65, 4))}`],
    [rsa(4096)],
    [rsa(1024)],
    [`ssh-rsa ${blob("ssh-ed25519", Buffer.alloc(32, 1))}`],
    ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG"],
    ["ssh-dss AAAAB3NzaC1kc3MAAACBAP"],
    ["not a key at all"],
    [""],
  ])("accepts or refuses an SSH key as the members CLI does: %s", (key) => {
    const cli = (() => {
      try {
        return parseSshKey(key);
      } catch (error) {
        if (error instanceof UsageError) return "refused";
        throw error;
      }
    })();
    const page = checkSshKey(key);
    expect(page.ok ? page.key : "refused").toBe(cli);
  });
});
