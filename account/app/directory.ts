import { Attribute, Change, Client, InvalidCredentialsError, ConstraintViolationError, ResultCodeError } from "ldapts-node18";
import type { AppConfig } from "./config";
import { PASSWORD_MODIFY_OID, passwordModifyRequest } from "./password-modify";

/** ppolicy's value for an account locked until an administrator unlocks it (ldap/members/expire.ts). */
export const LOCKED_FOREVER = "000001010000Z";

/** What the page shows and decides on, read with the `account` service account. */
export interface Member {
  uid: string;
  dn: string;
  name: string;
  mail: string;
  /** GeneralizedTime, e.g. 20270930000000Z. */
  membershipEnd?: string;
  accessEnd?: string;
  tech: boolean;
  admin: boolean;
  /** Days since 1970 from which sssd refuses the account (set by the expiry of an access). */
  shadowExpire?: number;
  sshKeys: string[];
  /** A legal person has no login; an ended access is locked for good: neither gets a password here. */
  canLogIn: boolean;
}

export type PasswordResult = "changed" | "wrong-old-password" | "refused-by-policy";

const UID = /^[a-z][a-z0-9._-]{1,31}$/;

/**
 * The page's operations on the directory. Passwords only ever travel inside a bind or a Password Modify
 * request over LDAPS: slapd hashes them (argon2) and ppolicy checks their quality; the page keeps none.
 */
export class Directory {
  constructor(private readonly config: AppConfig["ldap"]) {}

  personDn(uid: string): string {
    return `uid=${uid},ou=people,${this.config.baseDn}`;
  }

  private async connect(): Promise<Client> {
    return new Client({
      url: this.config.url,
      tlsOptions: {
        ...(this.config.ca ? { ca: this.config.ca } : {}),
        ...(this.config.servername ? { servername: this.config.servername } : {}),
      },
      connectTimeout: 5_000,
      timeout: 10_000,
    });
  }

  private async asService<T>(use: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      await client.bind(this.config.bindDn, this.config.password);
      return await use(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** The member with this uid, or by this address; undefined for anything else (a service, a typo). */
  async find(login: string): Promise<Member | undefined> {
    const value = login.trim().toLowerCase();
    const filter = UID.test(value) ? `(uid=${value})` : /^[^\s()*\\]+@[^\s()*\\]+$/.test(value) ? `(mail=${value})` : undefined;
    if (!filter) return undefined;
    return this.asService(async (client) => {
      const { searchEntries } = await client.search(`ou=people,${this.config.baseDn}`, {
        scope: "one",
        filter: `(&(objectClass=assoMember)${filter})`,
        attributes: [
          "uid",
          "cn",
          "mail",
          "assoMembershipEnd",
          "assoAccessEnd",
          "memberOf",
          "shadowExpire",
          "sshPublicKey",
          "pwdAccountLockedTime",
          "objectClass",
        ],
      });
      const entry = searchEntries[0];
      if (!entry) return undefined;
      const all = (key: string) => ([] as unknown[]).concat(entry[key] ?? []).map(String);
      const first = (key: string) => all(key)[0];
      const inGroup = (group: string) =>
        all("memberOf").some((dn) => dn.toLowerCase() === `cn=${group},ou=groups,${this.config.baseDn}`.toLowerCase());
      const shadowExpire = first("shadowExpire");
      return {
        uid: first("uid") ?? "",
        dn: entry.dn,
        name: first("cn") ?? "",
        mail: first("mail") ?? "",
        membershipEnd: first("assoMembershipEnd"),
        accessEnd: first("assoAccessEnd"),
        tech: inGroup("tech"),
        admin: inGroup("admins"),
        shadowExpire: shadowExpire === undefined ? undefined : Number(shadowExpire),
        sshKeys: all("sshPublicKey"),
        canLogIn: all("objectClass").includes("posixAccount") && first("pwdAccountLockedTime") !== LOCKED_FOREVER,
      };
    });
  }

  /** Whether dn/password bind (a member's login, or the admin's for the invitation API). */
  async verify(dn: string, password: string): Promise<boolean> {
    if (password === "") return false;
    const client = await this.connect();
    try {
      await client.bind(dn, password);
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return false;
      throw error;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** The member changes their own password: bound as themself, the old one in the request too. */
  async changePassword(uid: string, oldPassword: string, newPassword: string): Promise<PasswordResult> {
    const client = await this.connect();
    try {
      try {
        await client.bind(this.personDn(uid), oldPassword);
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return "wrong-old-password";
        throw error;
      }
      return await passwordModify(client, { oldPassword, newPassword });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** A first or forgotten password, set by the service account (write access, so ppolicy checks it). */
  async setPassword(uid: string, newPassword: string): Promise<PasswordResult> {
    return this.asService((client) => passwordModify(client, { identity: this.personDn(uid), newPassword }));
  }

  async addKey(uid: string, key: string): Promise<void> {
    await this.asService((client) =>
      client.modify(this.personDn(uid), [
        new Change({ operation: "add", modification: new Attribute({ type: "sshPublicKey", values: [key] }) }),
      ]),
    );
  }

  async removeKey(uid: string, key: string): Promise<void> {
    await this.asService((client) =>
      client.modify(this.personDn(uid), [
        new Change({ operation: "delete", modification: new Attribute({ type: "sshPublicKey", values: [key] }) }),
      ]),
    );
  }

  /** The policy's minimum length, for the page's hint (ppolicy decides anyway). */
  async minimumPasswordLength(): Promise<number> {
    return this.asService(async (client) => {
      const { searchEntries } = await client.search(`cn=default,ou=policies,${this.config.baseDn}`, {
        scope: "base",
        attributes: ["pwdMinLength"],
      });
      const length = Number(searchEntries[0]?.pwdMinLength);
      if (!(length > 0)) throw new Error("the policy's pwdMinLength cannot be read (access rules of cn=default,ou=policies)");
      return length;
    });
  }
}

async function passwordModify(
  client: Client,
  fields: { identity?: string; oldPassword?: string; newPassword: string },
): Promise<PasswordResult> {
  try {
    await client.exop(PASSWORD_MODIFY_OID, passwordModifyRequest(fields));
    return "changed";
  } catch (error) {
    // ppolicy: too short, or a value it cannot check (pre-hashed).
    if (error instanceof ConstraintViolationError) return "refused-by-policy";
    if (error instanceof ResultCodeError && error.code === 53 && fields.oldPassword !== undefined) return "wrong-old-password";
    throw error;
  }
}
