import { groupDn, type Person } from "./person";
import { fromGeneralizedTime, toGeneralizedTime } from "./validate";

/** ppolicy's value for an account locked until an administrator unlocks it. */
export const LOCKED_FOREVER = "000001010000Z";

/** What `expire` does to one person whose access ended; only the steps not done yet. */
export interface ExpiryPlan {
  person: Person;
  leaveGroups: string[];
  /** Days since 1970 of the access end, when shadowExpire is not set yet. */
  setShadowExpire?: number;
  lockPassword: boolean;
}

/**
 * Every access past its end date (assoAccessEnd <= now) is closed: out of the tech and admins groups,
 * shadowExpire set (sssd refuses the login), password locked (every bind refused). Steps already done
 * are left out, so planning again after applying gives nothing. The image's ldap-expire applies the same rule.
 */
export function planExpiry(people: Person[], now: Date, baseDn: string): ExpiryPlan[] {
  const cutoff = toGeneralizedTime(now);
  return people
    .filter((person) => person.accessEnd !== undefined && person.accessEnd <= cutoff)
    .map((person) => ({
      person,
      leaveGroups: [...(person.tech ? [groupDn("tech", baseDn)] : []), ...(person.admin ? [groupDn("admins", baseDn)] : [])],
      setShadowExpire: person.shadowExpire === undefined ? daysSinceEpoch(person.accessEnd as string) : undefined,
      // A temporary lock (failed logins) is no lock for good: ppolicy lifts it at the next good login.
      lockPassword: person.lockedTime !== LOCKED_FOREVER,
    }))
    .filter((plan) => plan.leaveGroups.length > 0 || plan.setShadowExpire !== undefined || plan.lockPassword)
    .sort((a, b) => a.person.uid.localeCompare(b.person.uid));
}

export function daysSinceEpoch(generalizedTime: string): number {
  return Math.floor(fromGeneralizedTime(generalizedTime).getTime() / 86_400_000);
}

/** One line per person: `jdupont (access ended 2026-10-31): removed from tech, shadowExpire set, password locked`. */
export function describePlan(plan: ExpiryPlan): string {
  const steps = [
    ...plan.leaveGroups.map((dn) => `removed from ${/^cn=([^,]+)/.exec(dn)?.[1]}`),
    ...(plan.setShadowExpire !== undefined ? ["shadowExpire set"] : []),
    ...(plan.lockPassword ? ["password locked"] : []),
  ];
  const end = plan.person.accessEnd as string;
  return `${plan.person.uid} (access ended ${end.slice(0, 4)}-${end.slice(4, 6)}-${end.slice(6, 8)}): ${steps.join(", ")}`;
}
