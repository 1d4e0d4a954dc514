import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const IMAGE = path.resolve(__dirname, "../../../ldap/image");
const read = (file: string) => fs.readFileSync(path.join(IMAGE, file), "utf8");

/** Image hygiene that can be read from the files (the running image is checked in tests/integration/ldap). */
describe("ldap image files", () => {
  const dockerfile = read("Dockerfile");

  it("builds from BASE_IMAGE with Debian's slapd, without recommends or apt lists", () => {
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=debian:bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE\}$/m);
    expect(dockerfile).toContain("apt-get install -y --no-install-recommends slapd");
    expect(dockerfile).toContain("rm -rf /var/lib/apt/lists/*");
  });

  it("runs as openldap and bakes no secret in", () => {
    expect(dockerfile).toMatch(/^USER openldap$/m);
    expect(dockerfile).not.toMatch(/^(ENV|ARG) .*(PASSWORD|SECRET)/im);
    for (const file of ["config/cn-config.ldif", "config/data.ldif"]) {
      expect(read(file)).not.toMatch(/^(olcRootPW|userPassword): (?!@[A-Z_]+@$)/m);
    }
  });

  it("writes its scripts for sh with set -eu", () => {
    for (const script of fs.readdirSync(path.join(IMAGE, "bin"))) {
      const text = read(`bin/${script}`);
      expect(text.split("\n")[0], script).toBe("#!/bin/sh");
      expect(text, script).toMatch(/^set -eu$/m);
    }
  });

  it("loads the overlays, the argon2 hash and the indexes the consumers need", () => {
    const config = read("config/cn-config.ldif");
    for (const line of [
      "olcModuleLoad: {1}memberof",
      "olcModuleLoad: {2}refint",
      "olcModuleLoad: {3}ppolicy",
      "olcModuleLoad: {4}argon2",
      "olcPasswordHash: {ARGON2}",
      "olcSecurity: simple_bind=64",
    ]) {
      expect(config).toContain(line);
    }
    for (const index of [
      "uid eq",
      "mail eq",
      "assoMailAlias eq",
      "member,memberOf eq",
      "uidNumber,gidNumber eq",
      "assoAccessEnd,assoMembershipEnd eq",
    ]) {
      expect(config).toContain(`olcDbIndex: ${index}`);
    }
  });

  it("marks the schema's OID arc as a placeholder for the association's PEN", () => {
    expect(read("config/schema/asso.ldif")).toMatch(/1\.3\.6\.1\.4\.1\.99999 is a PLACEHOLDER/);
  });
});
