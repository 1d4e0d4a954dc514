/**
 * Values the Docker provider reads back from the engine in a canonical form. Written in another form
 * (`300s` where Go prints `5m0s`), they differ from what a refresh reads, so every preview shows a change
 * and the nightly drift check (`--expect-no-changes`) fails. The container factory writes each field
 * of this table through its `canonical` function; a unit test checks every container of every stack.
 */

/** Seconds as Go's time.Duration.String() prints them (what the provider stores): 30s, 1m0s, 1h2m3s. */
export function goDuration(totalSeconds: number): string {
  if (!Number.isInteger(totalSeconds) || totalSeconds < 0) throw new Error(`expected whole seconds, got ${totalSeconds}`);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Whole seconds of a duration written with h, m and s units (`5m0s`, `300s`); undefined for anything else. */
export function durationSeconds(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === "") return undefined;
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

export interface CanonicalField {
  /** Path of the field in the docker.Container inputs. */
  path: string;
  /** The form the provider reads back, in words. */
  form: string;
  /** Whether a written value is already in that form. */
  isCanonical(value: unknown): boolean;
}

const goDurationField = (path: string): CanonicalField => ({
  path,
  form: "Go duration (time.Duration.String): 30s, 1m0s, 5m0s",
  isCanonical: (value) =>
    typeof value === "string" && durationSeconds(value) !== undefined && goDuration(durationSeconds(value)!) === value,
});

/** The container fields the provider reads back in a canonical form (kreuzwerker/docker resourceDockerContainerRead). */
export const CANONICAL_CONTAINER_FIELDS: readonly CanonicalField[] = [
  goDurationField("healthcheck.interval"),
  goDurationField("healthcheck.timeout"),
  goDurationField("healthcheck.startPeriod"),
  {
    // d.Set("stop_timeout", container.Config.StopTimeout): an int, nil when unset (the field is Computed).
    path: "stopTimeout",
    form: "whole seconds above 0, or unset (Config.StopTimeout)",
    isCanonical: (value) => value === undefined || (typeof value === "number" && Number.isInteger(value) && value > 0),
  },
];
