import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { setImagePins } from "../../../ci/lib/image-pins";
import { pinChanges, stackFiles } from "../../../ci/lib/stack-files";

const REPO_ROOT = path.resolve(__dirname, "../../..");
const OLD = `0123456789abcdef0123456789abcdef01234567@sha256:${"a".repeat(64)}`;
const NEW = `89abcdef0123456789abcdef0123456789abcdef@sha256:${"b".repeat(64)}`;

const STACK = `# pica02: directory and mail.
config:
  infra:domain: picasoft.example.org
  infra:images:
    registry: registry.gitlab.example.org/asso/infra
    pins:
      # rebuilt by CI on every change of ldap/image
      ldap: "${OLD}" # keep quoted
      mail-postfix: ${OLD}
  infra:services:
    proxy:
      tls: acme
      image: "traefik:v3.3.5@sha256:${"c".repeat(64)}"
  infra:adminPassword:
    secure: v1:aWdhSWJPSWFKM3Zxc1V5QQ==:bm90IGEgcmVhbCBzZWNyZXQgYnV0IGEgbG9uZyBsaW5lIHRoYXQgbXVzdCBub3QgYmUgZm9sZGVkIGJ5IHRoZSB3cml0ZXI=
`;

function changedLines(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  expect(b).toHaveLength(a.length);
  return b.filter((line, i) => line !== a[i]);
}

describe("setImagePins", () => {
  it("moves an existing pin and changes no other line", () => {
    const result = setImagePins(STACK, { ldap: NEW });
    expect(result.updated).toEqual(["ldap"]);
    expect(changedLines(STACK, result.text)).toEqual([`      ldap: "${NEW}" # keep quoted`]);
  });

  it("moves several pins at once", () => {
    const result = setImagePins(STACK, { ldap: NEW, "mail-postfix": NEW });
    expect(result.updated).toEqual(["ldap", "mail-postfix"]);
    const config = parse(result.text).config;
    expect(config["infra:images"].pins).toEqual({ ldap: NEW, "mail-postfix": NEW });
  });

  it("skips images the stack does not pin, leaving the file untouched", () => {
    const result = setImagePins(STACK, { "mail-rspamd": NEW });
    expect(result).toEqual({ text: STACK, updated: [], skipped: ["mail-rspamd"] });
  });

  it("reports nothing when the pin is already current", () => {
    expect(setImagePins(STACK, { ldap: OLD }).updated).toEqual([]);
  });

  it("adds a first pin when asked, one per line", () => {
    const stack = "config:\n  infra:images:\n    registry: registry.gitlab.example.org/asso/infra\n    pins: {}\n";
    const result = setImagePins(stack, { ldap: NEW }, { add: true });
    expect(result.text).toBe(
      `config:\n  infra:images:\n    registry: registry.gitlab.example.org/asso/infra\n    pins:\n      ldap: ${NEW}\n`,
    );
  });

  it("leaves a stack that builds its images (local) alone", () => {
    const local = readFileSync(path.join(REPO_ROOT, "stacks/Pulumi.local.yaml"), "utf8");
    expect(setImagePins(local, { ldap: NEW }, { add: true })).toEqual({ text: local, updated: [], skipped: ["ldap"] });
  });

  it("refuses a pin the stack schema would reject", () => {
    expect(() => setImagePins(STACK, { ldap: "latest" })).toThrow(/infra:images would be invalid: expected .*<tag>@sha256/);
  });
});

describe("the real stack files", () => {
  it("are the host stacks and local", () => {
    expect(stackFiles(REPO_ROOT)).toEqual(
      expect.arrayContaining(["stacks/Pulumi.local.yaml", "stacks/Pulumi.pica01.yaml", "stacks/Pulumi.pica02.yaml"]),
    );
  });

  it("take a first pin on the host named, and no other", () => {
    const changes = pinChanges(REPO_ROOT, { ldap: NEW }, { add: true, stacks: ["pica02"] });
    expect(changes.map((c) => c.file)).toEqual(["stacks/Pulumi.pica02.yaml"]);
    expect(parse(changes[0].text).config["infra:images"].pins.ldap).toBe(NEW);
  });

  it("never gain a pin from CI on their own (CI only moves existing pins)", () => {
    const current = stackFiles(REPO_ROOT).filter((file) => {
      const pins = parse(readFileSync(path.join(REPO_ROOT, file), "utf8")).config["infra:images"].pins ?? {};
      return "no-such-image" in pins;
    });
    expect(current).toEqual([]);
    expect(pinChanges(REPO_ROOT, { "no-such-image": NEW })).toEqual([]);
  });
});
