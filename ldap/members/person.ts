import type { PersonType } from "./validate";

/** A member as the CLI reads it from ou=people (attribute names as in docs/contracts.md). */
export interface Person {
  dn: string;
  uid: string;
  name: string;
  mail: string;
  type: PersonType;
  /** GeneralizedTime, e.g. 20260930000000Z. */
  membershipEnd?: string;
  accessEnd?: string;
  uidNumber?: number;
  tech: boolean;
  admin: boolean;
  /** Days since 1970 (set by expire). */
  shadowExpire?: number;
  /** ppolicy lock (000001010000Z: locked by expire or an admin). */
  lockedTime?: string;
}

/** The attributes to request to build a Person. */
export const PERSON_ATTRIBUTES = [
  "uid",
  "cn",
  "mail",
  "assoPersonType",
  "assoMembershipEnd",
  "assoAccessEnd",
  "uidNumber",
  "memberOf",
  "shadowExpire",
  "pwdAccountLockedTime",
];

type Raw = Record<string, string | string[] | Buffer | Buffer[]>;

function first(entry: Raw, key: string): string | undefined {
  const value = entry[key];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : String(one);
}

function all(entry: Raw, key: string): string[] {
  const value = entry[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Build a Person from an ldapts search entry. */
export function toPerson(entry: Raw & { dn: string }, baseDn: string): Person {
  const groups = all(entry, "memberOf").map((dn) => dn.toLowerCase());
  const uidNumber = first(entry, "uidNumber");
  const shadowExpire = first(entry, "shadowExpire");
  return {
    dn: entry.dn,
    uid: first(entry, "uid") ?? "",
    name: first(entry, "cn") ?? "",
    mail: first(entry, "mail") ?? "",
    type: first(entry, "assoPersonType") === "legal" ? "legal" : "physical",
    membershipEnd: first(entry, "assoMembershipEnd"),
    accessEnd: first(entry, "assoAccessEnd"),
    uidNumber: uidNumber === undefined ? undefined : Number(uidNumber),
    tech: groups.includes(groupDn("tech", baseDn).toLowerCase()),
    admin: groups.includes(groupDn("admins", baseDn).toLowerCase()),
    shadowExpire: shadowExpire === undefined ? undefined : Number(shadowExpire),
    lockedTime: first(entry, "pwdAccountLockedTime"),
  };
}

export function groupDn(group: "members" | "tech" | "admins", baseDn: string): string {
  return `cn=${group},ou=groups,${baseDn}`;
}
