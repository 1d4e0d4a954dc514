import type { Person } from "./person";
import { isoDay, toGeneralizedTime } from "./validate";

export const CSV_COLUMNS = ["uid", "name", "email", "type", "membership_end", "current", "tech", "admin"];

/** A member counts as current when their membership has no end or ends after `now`. */
export function isCurrent(person: Person, now: Date): boolean {
  return person.membershipEnd === undefined || person.membershipEnd > toGeneralizedTime(now);
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The members as CSV (RFC 4180, header first), sorted by uid, for the general assembly. */
export function toCsv(people: Person[], now: Date): string {
  const rows = [...people]
    .sort((a, b) => a.uid.localeCompare(b.uid))
    .map((p) => [p.uid, p.name, p.mail, p.type, isoDay(p.membershipEnd), yesNo(isCurrent(p, now)), yesNo(p.tech), yesNo(p.admin)]);
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

/** `physical members: 28 (current: 26); legal members: 2 (current: 2)`. */
export function memberCounts(people: Person[], now: Date): string {
  const count = (type: string, current: boolean) => people.filter((p) => p.type === type && (!current || isCurrent(p, now))).length;
  return `physical members: ${count("physical", false)} (current: ${count("physical", true)}); legal members: ${count("legal", false)} (current: ${count("legal", true)})`;
}
