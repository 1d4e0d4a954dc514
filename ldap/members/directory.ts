import { Attribute, Change, type Client } from "ldapts";
import { LOCKED_FOREVER, type ExpiryPlan } from "./expire";
import { groupDn, PERSON_ATTRIBUTES, toPerson, type Person } from "./person";

/** The first uidNumber given to a member; groups use 10000-10002 (docs/contracts.md). */
export const FIRST_UID_NUMBER = 20000;

/** What `add` writes: a Person's own fields (accessEnd set for tech and admins), its groups and keys. */
export type NewMember = Pick<Person, "uid" | "name" | "mail" | "type" | "membershipEnd" | "accessEnd"> & {
  groups: ("tech" | "admins")[];
  sshKeys: string[];
};

function change(operation: "add" | "delete" | "replace", type: string, values: string[]): Change {
  return new Change({ operation, modification: new Attribute({ type, values }) });
}

/** Escape a value for an LDAP filter (RFC 4515). */
export function filterValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- NUL must be escaped in an LDAP filter (RFC 4515)
  return value.replace(/[\\*()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The operations of the members CLI on ou=people and the groups, over one bound connection. */
export class MembersDirectory {
  constructor(
    private readonly client: Client,
    readonly baseDn: string,
  ) {}

  get peopleBase(): string {
    return `ou=people,${this.baseDn}`;
  }

  personDn(uid: string): string {
    return `uid=${uid},${this.peopleBase}`;
  }

  async people(filter = "(objectClass=assoMember)"): Promise<Person[]> {
    const { searchEntries } = await this.client.search(this.peopleBase, {
      scope: "one",
      filter,
      attributes: PERSON_ATTRIBUTES,
      paged: { pageSize: 500 },
    });
    return searchEntries.map((entry) => toPerson(entry, this.baseDn));
  }

  async find(uid: string): Promise<Person | undefined> {
    return (await this.people(`(uid=${filterValue(uid)})`))[0];
  }

  /**
   * Who already has this address: a member (mailbox or alias), a group (`tech@`) or a service account
   * (`mattermost@`), as `member jdupont`, `group tech`, `service account mattermost`.
   */
  async mailOwner(mail: string): Promise<string | undefined> {
    const value = filterValue(mail);
    const member = (await this.people(`(|(mail=${value})(assoMailAlias=${value}))`))[0];
    if (member) return `member ${member.uid}`;
    for (const [ou, kind] of [
      ["groups", "group"],
      ["services", "service account"],
    ]) {
      const { searchEntries } = await this.client.search(`ou=${ou},${this.baseDn}`, {
        scope: "one",
        filter: `(mail=${value})`,
        attributes: ["cn"],
      });
      if (searchEntries[0]) return `${kind} ${String(searchEntries[0].cn)}`;
    }
    return undefined;
  }

  /** One more than the highest uidNumber in use (at least FIRST_UID_NUMBER). */
  async nextUidNumber(): Promise<number> {
    const { searchEntries } = await this.client.search(this.peopleBase, {
      scope: "one",
      filter: "(uidNumber=*)",
      attributes: ["uidNumber"],
      paged: { pageSize: 500 },
    });
    return searchEntries.reduce((next, entry) => Math.max(next, Number(entry.uidNumber) + 1), FIRST_UID_NUMBER);
  }

  async add(member: NewMember): Promise<{ dn: string; uidNumber?: number }> {
    const dn = this.personDn(member.uid);
    const words = member.name.split(" ");
    const common = {
      uid: member.uid,
      cn: member.name,
      displayName: member.name,
      mail: member.mail,
      assoPersonType: member.type,
      ...(member.membershipEnd ? { assoMembershipEnd: member.membershipEnd } : {}),
    };
    let uidNumber: number | undefined;
    if (member.type === "legal") {
      // Legal persons are members without a login: no password, no POSIX attributes, no keys.
      await this.client.add(dn, { objectClass: ["inetOrgPerson", "assoMember"], sn: member.name, ...common });
    } else {
      uidNumber = await this.nextUidNumber();
      await this.client.add(dn, {
        objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "ldapPublicKey", "assoMember"],
        sn: words.length > 1 ? words.slice(1).join(" ") : member.name,
        ...(words.length > 1 ? { givenName: words[0] } : {}),
        ...common,
        uidNumber: String(uidNumber),
        gidNumber: "10000",
        homeDirectory: `/home/${member.uid}`,
        loginShell: "/bin/bash",
        ...(member.accessEnd ? { assoAccessEnd: member.accessEnd } : {}),
        ...(member.sshKeys.length > 0 ? { sshPublicKey: member.sshKeys } : {}),
      });
    }
    for (const group of ["members" as const, ...member.groups]) {
      await this.client.modify(groupDn(group, this.baseDn), [change("add", "member", [dn])]);
    }
    return { dn, uidNumber };
  }

  async renew(person: Person, membershipEnd: string): Promise<void> {
    await this.client.modify(person.dn, [change("replace", "assoMembershipEnd", [membershipEnd])]);
  }

  /** Tech (and admins) until accessEnd; lifts the lock a previous expiry left. */
  async grantTech(person: Person, accessEnd: string, admin: boolean): Promise<void> {
    const changes = [change("replace", "assoAccessEnd", [accessEnd])];
    if (person.shadowExpire !== undefined) changes.push(change("delete", "shadowExpire", []));
    if (person.lockedTime !== undefined) changes.push(change("delete", "pwdAccountLockedTime", []));
    await this.client.modify(person.dn, changes);
    if (!person.tech) await this.client.modify(groupDn("tech", this.baseDn), [change("add", "member", [person.dn])]);
    if (admin && !person.admin) await this.client.modify(groupDn("admins", this.baseDn), [change("add", "member", [person.dn])]);
  }

  /** Leave the given groups (when they are a member); without tech, the access end goes too. */
  async revoke(person: Person, groups: ("tech" | "admins")[]): Promise<void> {
    for (const group of groups) {
      const isMember = group === "tech" ? person.tech : person.admin;
      if (isMember) await this.client.modify(groupDn(group, this.baseDn), [change("delete", "member", [person.dn])]);
    }
    if (groups.includes("tech") && person.accessEnd !== undefined) {
      await this.client.modify(person.dn, [change("delete", "assoAccessEnd", [])]);
    }
  }

  async applyExpiry(plan: ExpiryPlan): Promise<void> {
    for (const group of plan.leaveGroups) {
      await this.client.modify(group, [change("delete", "member", [plan.person.dn])]);
    }
    const changes: Change[] = [];
    if (plan.setShadowExpire !== undefined) changes.push(change("replace", "shadowExpire", [String(plan.setShadowExpire)]));
    if (plan.lockPassword) changes.push(change("replace", "pwdAccountLockedTime", [LOCKED_FOREVER]));
    if (changes.length > 0) await this.client.modify(plan.person.dn, changes);
  }

  async sshKeys(person: Person): Promise<string[]> {
    const { searchEntries } = await this.client.search(person.dn, { scope: "base", attributes: ["sshPublicKey"] });
    return ([] as unknown[]).concat(searchEntries[0]?.sshPublicKey ?? []).map(String);
  }

  async addSshKeys(person: Person, keys: string[]): Promise<void> {
    await this.client.modify(person.dn, [change("add", "sshPublicKey", keys)]);
  }

  async removeSshKey(person: Person, key: string): Promise<void> {
    await this.client.modify(person.dn, [change("delete", "sshPublicKey", [key])]);
  }

  /** Delete the entry; the refint overlay takes it out of every group. */
  async remove(person: Person): Promise<void> {
    await this.client.del(person.dn);
  }
}
