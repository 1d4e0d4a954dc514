import { Attribute, Change, Client } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { TLS12_SUITES } from "../../../platform/tls-policy";
import { addPerson, IMAGE_PASSWORD_HASH, openDirectory, passwordModifyValue, rejectsWith, type DirectorySession } from "../../helpers/ldap";
import { run, testssl, tls12Ciphers, weakFindings } from "../../helpers/testssl";

/** Who reads and writes what in the directory (docs/contracts.md, ldap/image/config/cn-config.ldif). */
describe.runIf(dockerAvailable())("ldap access rules", () => {
  let stack: RunningStack;
  let directory: DirectorySession;
  const alice = { uid: "alice", password: "alice-first-password" };
  const bob = { uid: "bob", password: "bob-first-password-1" };

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
    await addPerson(directory, alice.uid, alice.password, 20001);
    await addPerson(directory, bob.uid, bob.password, 20002);
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  async function withClient<T>(client: Promise<Client>, use: (client: Client) => Promise<T>): Promise<T> {
    const c = await client;
    try {
      return await use(c);
    } finally {
      await c.unbind();
    }
  }

  /** Attributes an entry came back with (ldapts lists requested ones as [] and echoes "*"). */
  function visibleAttributes(entry: Record<string, unknown>): string[] {
    return Object.entries(entry)
      .filter(([key, value]) => key !== "dn" && key !== "*" && !(Array.isArray(value) && value.length === 0))
      .map(([key]) => key)
      .sort();
  }

  it("shows anonymous clients the root DSE and nothing else", async () => {
    await withClient(directory.client(), async (anonymous) => {
      const root = await anonymous.search("", { scope: "base", attributes: ["namingContexts"] });
      expect(root.searchEntries[0].namingContexts).toBe(directory.baseDn);
      const under = await rejectsWith(anonymous.search(directory.baseDn, { scope: "sub", filter: "(objectClass=*)" }));
      expect(under).toBe("NoSuchObjectError");
      const people = await rejectsWith(anonymous.search(`ou=people,${directory.baseDn}`, { scope: "sub", filter: "(uid=*)" }));
      expect(people).toBe("NoSuchObjectError");
    });
  });

  it("lets a member read their own entry but not another member's", async () => {
    await withClient(directory.bound(directory.peopleDn(alice.uid), alice.password), async (client) => {
      const own = await client.search(directory.peopleDn(alice.uid), { scope: "base", attributes: ["mail", "uidNumber"] });
      expect(own.searchEntries[0].mail).toBe("alice@asso.localhost");
      const others = await client
        .search(directory.peopleDn(bob.uid), { scope: "base", attributes: ["mail"] })
        .catch((e: Error) => e.constructor.name);
      expect(others).toBe("NoSuchObjectError");
    });
  });

  it("never shows a password hash, not even the member's own", async () => {
    await withClient(directory.bound(directory.peopleDn(alice.uid), alice.password), async (client) => {
      const own = await client.search(directory.peopleDn(alice.uid), { scope: "base", attributes: ["userPassword"] });
      expect(own.searchEntries[0].userPassword ?? []).toEqual([]);
    });
    await withClient(directory.bound(`cn=mail,ou=services,${directory.baseDn}`, directory.servicePassword("mail")), async (mail) => {
      const bobEntry = await mail.search(directory.peopleDn(bob.uid), { scope: "base", attributes: ["userPassword", "mail"] });
      expect(bobEntry.searchEntries[0].mail).toBe("bob@asso.localhost");
      expect(bobEntry.searchEntries[0].userPassword ?? []).toEqual([]);
    });
  });

  it("gives the mail account the mail attributes and no login details", async () => {
    await withClient(directory.bound(`cn=mail,ou=services,${directory.baseDn}`, directory.servicePassword("mail")), async (mail) => {
      const { searchEntries } = await mail.search(directory.peopleDn(alice.uid), { scope: "base", attributes: ["*", "memberOf"] });
      expect(visibleAttributes(searchEntries[0])).toEqual(["cn", "mail", "memberOf", "objectClass", "uid"]);
      const groups = await mail.search(`ou=groups,${directory.baseDn}`, { scope: "one", filter: "(mail=*)", attributes: ["mail"] });
      expect(groups.searchEntries.map((g) => g.mail)).toEqual([`tech@asso.localhost`]);
    });
  });

  it("gives the hosts account POSIX attributes, SSH keys and access ends", async () => {
    await withClient(directory.bound(`cn=hosts,ou=services,${directory.baseDn}`, directory.servicePassword("hosts")), async (hosts) => {
      const { searchEntries } = await hosts.search(`ou=people,${directory.baseDn}`, {
        filter: "(&(objectClass=posixAccount)(uid=alice))",
        attributes: ["uidNumber", "gidNumber", "homeDirectory", "loginShell", "mail"],
      });
      expect(searchEntries[0]).toMatchObject({ uidNumber: "20001", gidNumber: "10000", homeDirectory: "/home/alice" });
      expect(searchEntries[0].mail ?? []).toEqual([]);
      const groups = await hosts.search(`ou=groups,${directory.baseDn}`, { filter: "(cn=tech)", attributes: ["gidNumber"] });
      expect(groups.searchEntries[0].gidNumber).toBe("10001");
    });
  });

  it("refuses every write by a service account", async () => {
    for (const service of ["mail", "mattermost", "nextcloud", "hosts"]) {
      await withClient(
        directory.bound(`cn=${service},ou=services,${directory.baseDn}`, directory.servicePassword(service)),
        async (client) => {
          const change = new Change({ operation: "replace", modification: new Attribute({ type: "mail", values: ["evil@example.org"] }) });
          expect(await rejectsWith(client.modify(directory.peopleDn(bob.uid), [change])), service).toBe("InsufficientAccessError");
          expect(await rejectsWith(client.modify(`cn=tech,ou=groups,${directory.baseDn}`, [change])), service).toBe(
            "InsufficientAccessError",
          );
        },
      );
    }
  });

  it("lets a member change their own password, after which the old one fails", async () => {
    const newPassword = "alice-second-password";
    await withClient(directory.bound(directory.peopleDn(alice.uid), alice.password), async (client) => {
      await client.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(alice.password, newPassword));
    });
    await withClient(directory.client(), async (client) => {
      expect(await rejectsWith(client.bind(directory.peopleDn(alice.uid), alice.password))).toBe("InvalidCredentialsError");
    });
    await withClient(directory.bound(directory.peopleDn(alice.uid), newPassword), async (client) => {
      expect(await client.exop("1.3.6.1.4.1.4203.1.11.3")).toMatchObject({ value: `dn:${directory.peopleDn(alice.uid)}` });
    });
    alice.password = newPassword;
  });

  it("refuses a pre-hashed password from a member, by modify or Password Modify, and keeps the old one", async () => {
    const stored = await directory.storedPassword(bob.uid);
    const hashed = "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g/jSh4";
    await withClient(directory.bound(directory.peopleDn(bob.uid), bob.password), async (client) => {
      const replace = new Change({ operation: "replace", modification: new Attribute({ type: "userPassword", values: [hashed] }) });
      expect(await rejectsWith(client.modify(directory.peopleDn(bob.uid), [replace]))).toBe("ConstraintViolationError");
      const exop = client.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(bob.password, hashed));
      expect(await rejectsWith(exop)).toBe("ConstraintViolationError");
    });
    expect(await directory.storedPassword(bob.uid)).toBe(stored);
  });

  it("refuses a member's own password shorter than 12 characters and keeps the old one", async () => {
    await withClient(directory.bound(directory.peopleDn(bob.uid), bob.password), async (client) => {
      const exop = client.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(bob.password, "short-pw"));
      expect(await rejectsWith(exop)).toBe("ConstraintViolationError");
    });
    await withClient(directory.bound(directory.peopleDn(bob.uid), bob.password), async (client) => {
      expect((await client.exop("1.3.6.1.4.1.4203.1.11.3")).value).toBe(`dn:${directory.peopleDn(bob.uid)}`);
    });
  });

  it("lets the account page set a member's password without the old one, under the same quality checks", async () => {
    const carol = { uid: "carol", password: "carol-first-password" };
    await addPerson(directory, carol.uid, carol.password, 20003);
    const account = `cn=account,ou=services,${directory.baseDn}`;
    await withClient(directory.bound(account, directory.servicePassword("account")), async (client) => {
      const weak = client.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(undefined, "weak", directory.peopleDn(carol.uid)));
      expect(await rejectsWith(weak)).toBe("ConstraintViolationError");
      await client.exop("1.3.6.1.4.1.4203.1.11.1", passwordModifyValue(undefined, "carol-set-by-the-page", directory.peopleDn(carol.uid)));
      // Only members' passwords: not the admin's nor another service account's.
      const service = passwordModifyValue(undefined, "taken-over-password", `cn=mail,ou=services,${directory.baseDn}`);
      expect(await rejectsWith(client.exop("1.3.6.1.4.1.4203.1.11.1", service))).toBe("InsufficientAccessError");
    });
    await withClient(directory.client(), async (client) => {
      expect(await rejectsWith(client.bind(directory.peopleDn(carol.uid), carol.password))).toBe("InvalidCredentialsError");
      await client.bind(directory.peopleDn(carol.uid), "carol-set-by-the-page");
    });
    expect(await directory.storedPassword(carol.uid)).toMatch(IMAGE_PASSWORD_HASH);
  });

  it("still lets a member in with the right password after twenty wrong ones from another client", async () => {
    await withClient(directory.client(), async (guesser) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        expect(await rejectsWith(guesser.bind(directory.peopleDn(bob.uid), `wrong-guess-${attempt}`))).toBe("InvalidCredentialsError");
      }
    });
    await withClient(directory.bound(directory.peopleDn(bob.uid), bob.password), async (client) => {
      expect((await client.exop("1.3.6.1.4.1.4203.1.11.3")).value).toBe(`dn:${directory.peopleDn(bob.uid)}`);
    });
  });

  // The image's module is libsodium's argon2 (ldap/image/Dockerfile): members' and the admin's hashes
  // must carry the cost the entrypoint states, not libsodium's default.
  it("stores passwords as argon2id hashes at 4 MiB and 3 passes", async () => {
    expect(await directory.storedPassword(bob.uid)).toMatch(IMAGE_PASSWORD_HASH);
    const rootPassword = /^olcRootPW:: (.+)$/m.exec(await directory.slapcat(0))?.[1] ?? "";
    expect(Buffer.from(rootPassword, "base64").toString("utf8")).toMatch(IMAGE_PASSWORD_HASH);
  });

  it("does not let a member change another member's password", async () => {
    await withClient(directory.bound(directory.peopleDn(alice.uid), alice.password), async (client) => {
      const change = new Change({
        operation: "replace",
        modification: new Attribute({ type: "userPassword", values: ["taken-over-password"] }),
      });
      expect(await rejectsWith(client.modify(directory.peopleDn(bob.uid), [change]))).toBe("InsufficientAccessError");
    });
  });

  it("serves LDAPS on 636 and StartTLS on 389", async () => {
    await withClient(directory.bound(directory.peopleDn(bob.uid), bob.password), async (client) => {
      expect((await client.exop("1.3.6.1.4.1.4203.1.11.3")).value).toBe(`dn:${directory.peopleDn(bob.uid)}`);
    });
    await withClient(directory.client("starttls"), async (client) => {
      await client.bind(directory.peopleDn(bob.uid), bob.password);
      expect((await client.exop("1.3.6.1.4.1.4203.1.11.3")).value).toBe(`dn:${directory.peopleDn(bob.uid)}`);
    });
  });

  it("passes testssl.sh on LDAPS (636) and StartTLS (389): the TLS policy's suites only", async () => {
    // Both at once: testssl.sh spends its time waiting for handshakes.
    const [ldaps, starttls] = await Promise.all([testssl(directory.ip, 636), testssl(directory.ip, 389, "ldap")]);
    // The directory's certificate is ECDSA (ldap-entrypoint): the policy's ECDSA suites, all of them.
    const expected = TLS12_SUITES.filter((suite) => suite.certificate === "ECDSA")
      .map((suite) => suite.iana)
      .sort();
    // On 389 testssl.sh 3.0 goes through the local openssl, which cannot offer SSLv2, SSLv3, TLS 1.0 or
    // 1.1 (it reports them "not offered" or "not tested" whatever the server does): openssl s_client
    // tries those below, at security level 0.
    const olderProtocol = /^(SSLv2|SSLv3|TLS1|TLS1_1)$/;
    for (const [port, { output, findings }] of [
      [636, ldaps],
      [389, { ...starttls, findings: starttls.findings.filter((f) => !olderProtocol.test(f.id)) }],
    ] as const) {
      expect(
        findings.some((f) => f.id === "TLS1_3" && /offered/.test(f.finding) && !/not offered/.test(f.finding)),
        `${port}: ${output}`,
      ).toBe(true);
      expect(weakFindings(findings), `port ${port}`).toEqual([]);
      expect(tls12Ciphers(findings), `port ${port}`).toEqual(expected);
    }
    const startTls = (...args: string[]) =>
      run("openssl", ["s_client", "-connect", `${directory.ip}:389`, "-starttls", "ldap", ...args], 30_000);
    expect((await startTls("-tls1_2")).output).toMatch(/Cipher is ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)/);
    for (const version of ["-tls1", "-tls1_1"]) {
      expect((await startTls(version, "-cipher", "DEFAULT@SECLEVEL=0")).output, version).toMatch(/Cipher is \(NONE\)/);
    }
    expect((await startTls("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")).output).toMatch(/Cipher is \(NONE\)/);
  }, 600_000);

  it("refuses a simple bind without TLS", async () => {
    await withClient(directory.client("plain"), async (client) => {
      expect(await rejectsWith(client.bind(directory.peopleDn(bob.uid), bob.password))).toBe("ConfidentialityRequiredError");
      expect(await rejectsWith(client.bind(directory.adminDn, directory.adminPassword))).toBe("ConfidentialityRequiredError");
    });
  });

  it("gives its clients the certificate and never the private key", async () => {
    const volume = stack.spec("ldap").volumes.find((v) => v.source === "ldap-certificate");
    expect(volume).toBeDefined();
    const listing = await stack.exec("ldap", ["ls", "-A", volume!.target]);
    expect(listing.stdout.trim().split("\n")).toEqual(["tls.crt"]);
    const served = await stack.exec("ldap", ["cmp", `${volume!.target}/tls.crt`, "/etc/ldap/tls/tls.crt"]);
    expect(served.exitCode).toBe(0);
  });

  it("answers the healthcheck on the local socket", async () => {
    const result = await stack.exec("ldap", ["ldapsearch", "-H", "ldapi:///", "-x", "-b", "", "-s", "base"]);
    expect(result.exitCode).toBe(0);
  });

  it("runs slapd as the openldap user", async () => {
    const result = await stack.exec("ldap", ["sh", "-c", "ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1"]);
    expect(result.stdout.trim()).toBe("openldap");
    const uid = await stack.exec("ldap", ["sh", "-c", "grep '^Uid:' /proc/1/status"]);
    expect(uid.stdout).not.toMatch(/^Uid:\s+0\s/);
  });
});
