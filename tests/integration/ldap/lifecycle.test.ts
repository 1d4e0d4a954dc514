import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { addPerson, openDirectory, type Directory } from "../../helpers/ldap";

/** slapcat output without what changes on its own (timestamps, CSNs). */
function stable(ldif: string): string {
  return ldif
    .split("\n")
    .filter((line) => !/^(entryCSN|contextCSN|createTimestamp|modifyTimestamp):/.test(line))
    .join("\n");
}

/** The first start creates cn=config and the tree; later starts and a new container change nothing. */
describe.runIf(dockerAvailable())("ldap bootstrap", () => {
  let stack: RunningStack;
  let directory: Directory;

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
    await addPerson(directory, "carol", "carol-password-123", 20003);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("creates the tree of docs/contracts.md at the first start", async () => {
    const dns = (await directory.slapcat(1)).match(/^dn: .*$/gm)?.map((line) => line.slice(4)) ?? [];
    const base = directory.baseDn;
    expect(dns).toEqual(
      expect.arrayContaining([
        base,
        `ou=people,${base}`,
        `ou=groups,${base}`,
        `ou=services,${base}`,
        `cn=members,ou=groups,${base}`,
        `cn=tech,ou=groups,${base}`,
        `cn=admins,ou=groups,${base}`,
        ...["mail", "mattermost", "nextcloud", "hosts"].map((svc) => `cn=${svc},ou=services,${base}`),
      ]),
    );
  });

  it("keeps cn=config and the data identical across two restarts", async () => {
    const before = { config: stable(await directory.slapcat(0)), data: stable(await directory.slapcat(1)) };
    await stack.restart("ldap");
    await stack.restart("ldap");
    expect(stable(await directory.slapcat(0))).toBe(before.config);
    expect(stable(await directory.slapcat(1))).toBe(before.data);
  });

  it("keeps the data, the config and the certificate when the container is re-created on its volumes", async () => {
    const before = { config: stable(await directory.slapcat(0)), data: stable(await directory.slapcat(1)), ca: directory.ca };
    await stack.recreate("ldap");
    const again = await openDirectory(stack);
    expect(again.ca).toBe(before.ca);
    expect(stable(await again.slapcat(0))).toBe(before.config);
    expect(stable(await again.slapcat(1))).toBe(before.data);
    const carol = await again.bound(again.peopleDn("carol"), "carol-password-123");
    await carol.unbind();
  });

  it("does not run the first-start steps again on a later start", async () => {
    await stack.restart("ldap");
    const logs = await stack.logs("ldap");
    expect(logs).not.toContain("first start");
  });
});
