import { Client, InvalidCredentialsError } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Directory } from "../../../account/app/directory";
import { dockerAvailable } from "../../helpers/docker";
import { startStack, type RunningStack } from "../../helpers/harness";
import { CERT_NAME, openDirectory, runMembersCli, type DirectorySession } from "../../helpers/ldap";
import { containerOf } from "../../helpers/rendered";

/**
 * Nextcloud cannot be pulled here, so its login is played as its user_ldap app does it, from what the
 * rendered `local` stack gives the occ job (URL, base, bind account, login filter): search the person with
 * the service account, then bind as them. The password is set as the account page sets it (its own
 * Directory module, as the `account` service account, Password Modify).
 */
describe.runIf(dockerAvailable())("a password set on the account page, at Nextcloud's login", () => {
  let stack: RunningStack;
  let directory: DirectorySession;
  const password = "correct horse battery staple";

  /** The occ job's LDAP settings, read from its rendered script and environment. */
  function nextcloudLdap() {
    const occ = containerOf(stack.rendered, /^nextcloud-asso-occ-/);
    const script = [...occ.entrypoint, ...occ.command].join("\n");
    const baseDn = occ.env.OCC_LDAP_BASE_DN;
    const members = /members="([^"]+)"/.exec(script)![1].replace("$OCC_LDAP_BASE_DN", baseDn);
    const setting = (name: string) =>
      new RegExp(`set-config s01 ${name} "([^"]+)"`).exec(script)![1].replace("$OCC_LDAP_BASE_DN", baseDn).replace("$members", members);
    return {
      url: occ.env.OCC_LDAP_URL,
      bindDn: occ.env.OCC_LDAP_BIND_DN,
      bindPassword: occ.secrets.OCC_LDAP_BIND_PASSWORD,
      usersBase: setting("ldapBaseUsers"),
      loginFilter: setting("ldapLoginFilter"),
    };
  }

  /** user_ldap's login: find the person by the login filter as the service account, then bind as them. */
  async function nextcloudLogin(login: string, loginPassword: string): Promise<void> {
    const settings = nextcloudLdap();
    const client = new Client({ url: `ldaps://${directory.ip}:636`, tlsOptions: { ca: directory.ca, servername: CERT_NAME } });
    try {
      await client.bind(settings.bindDn, settings.bindPassword);
      const { searchEntries } = await client.search(settings.usersBase, {
        filter: settings.loginFilter.replaceAll("%uid", login),
        attributes: ["uid"],
      });
      expect(searchEntries).toHaveLength(1);
      await client.bind(searchEntries[0].dn, loginPassword);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  beforeAll(async () => {
    stack = await startStack({ stack: "local", containers: ["ldap"] });
    directory = await openDirectory(stack);
    const until = `${new Date().getUTCFullYear() + 1}-06-30`;
    const add = await runMembersCli(directory, [
      "add",
      "--uid",
      "lmartin",
      "--name",
      "Lucie Martin",
      "--email",
      "lucie@asso.localhost",
      "--until",
      until,
      "--no-invitation",
    ]);
    expect(add.exitCode, add.stderr).toBe(0);
    const account = containerOf(stack.rendered, "account");
    const page = new Directory({
      url: `ldaps://${directory.ip}:636`,
      baseDn: account.env.ACCOUNT_LDAP_BASE_DN,
      bindDn: `cn=account,ou=services,${account.env.ACCOUNT_LDAP_BASE_DN}`,
      password: account.secrets.ACCOUNT_LDAP_PASSWORD,
      ca: directory.ca,
      servername: CERT_NAME,
    });
    expect(await page.setPassword("lmartin", password)).toBe("changed");
  });
  afterAll(async () => {
    await stack?.teardown();
  });

  it("is read by Nextcloud from the directory the account page writes to", () => {
    const settings = nextcloudLdap();
    const account = containerOf(stack.rendered, "account");
    expect(new URL(settings.url).hostname).toBe(new URL(account.env.ACCOUNT_LDAP_URL).hostname);
    expect(settings.usersBase).toBe(`ou=people,${account.env.ACCOUNT_LDAP_BASE_DN}`);
  });

  it("lets the member log in to Nextcloud with it, by uid and by address", async () => {
    await nextcloudLogin("lmartin", password);
    await nextcloudLogin("lucie@asso.localhost", password);
  });

  it("refuses a wrong password at Nextcloud's login", async () => {
    await expect(nextcloudLogin("lmartin", "not the password at all")).rejects.toBeInstanceOf(InvalidCredentialsError);
  });
});
