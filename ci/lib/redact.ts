/**
 * Redaction of preview output before it leaves the job (merge-request notes are readable by
 * everyone who can read the merge request). Pulumi already prints secret outputs as [secret];
 * this is the second belt: known secret values, password-like assignments and private keys.
 */

export const REDACTED = "[redacted]";

/** CI/CD variables whose values never appear in a note (see ci/README.md); add more with REDACT_VARIABLES. */
export const SECRET_VARIABLES = [
  "PULUMI_CONFIG_PASSPHRASE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "PREVIEW_NOTE_TOKEN",
  "PIN_MR_TOKEN",
  "RENOVATE_TOKEN",
  "CI_JOB_TOKEN",
  "CI_REGISTRY_PASSWORD",
];

// GitLab refuses to mask values shorter than 8 characters; shorter ones would redact ordinary words.
const MIN_SECRET_LENGTH = 8;

const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

// A key that names a secret, then `:` or `=`, then its value (quoted or bare), and for Pulumi's
// update diffs (`old => new`) the new value too. Matches `password: "x"`, `"DB_PASSWORD=x"`, `token=x`.
const SECRET_KEY = String.raw`[\w.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|private[_-]?key|credentials?)[\w.-]*`;
// Pulumi's placeholders ([secret], [unknown]) are one value, not "[secret" followed by "]".
const VALUE = String.raw`(?:"[^"\n]*"|'[^'\n]*'|\[[a-z]+\]|[^\s"',}\]]+)`;
const SECRET_ASSIGNMENT = new RegExp(String.raw`(${SECRET_KEY}["']?\s*[:=]\s*)(${VALUE})(\s*=>\s*)?(${VALUE})?`, "gi");

// user:password@ in URLs (state backend, registries).
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi;

/** Values Pulumi already hid, or that carry no secret: left as they are. */
function isHarmless(value: string): boolean {
  const bare = value.replace(/^["']|["']$/g, "");
  return bare === "" || bare === "[secret]" || bare === REDACTED || bare === "[unknown]" || bare === "output<string>";
}

function redactValue(value: string | undefined): string {
  if (value === undefined || isHarmless(value)) return value ?? "";
  const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : "";
  return `${quote}${REDACTED}${quote}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Redact `text`: the given secret values (longest first), private key blocks, secret assignments, URL passwords. */
export function redact(text: string, secretValues: readonly string[] = []): string {
  let out = text;
  const values = [...new Set(secretValues)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const value of values) {
    out = out.replace(new RegExp(escapeRegExp(value), "g"), REDACTED);
  }
  out = out.replace(PRIVATE_KEY_BLOCK, "[redacted private key]");
  out = out.replace(
    SECRET_ASSIGNMENT,
    (_all, key: string, value: string, arrow: string | undefined, newValue: string | undefined) =>
      `${key}${redactValue(value)}${arrow ?? ""}${arrow ? redactValue(newValue) : (newValue ?? "")}`,
  );
  out = out.replace(URL_CREDENTIALS, `$1${REDACTED}$3`);
  return out;
}

/** The values of the named environment variables that are set (the masked CI/CD variables of this job). */
export function secretValuesFromEnv(names: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return names.map((name) => env[name]).filter((value): value is string => typeof value === "string" && value !== "");
}
