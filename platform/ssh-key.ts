/**
 * The one rule for an SSH public key a member gives (the members CLI, the account page): an OpenSSH line
 * `<type> <base64 blob> [comment]` of a type OpenSSH accepts for logins, whose blob decodes and names the
 * same type (a key pasted with the wrong prefix, or cut short, is refused), RSA of 2048 bits or more.
 * Each caller words the refusal for its own readers.
 */
export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

export type SshKeyCheck =
  /** The line without its surrounding spaces. */
  | { ok: true; key: string }
  | { ok: false; problem: "not-a-key" | "not-base64" }
  | { ok: false; problem: "unsupported-type" | "wrong-data"; type: string }
  | { ok: false; problem: "weak-rsa"; bits: number };

export function checkSshKey(value: string): SshKeyCheck {
  const line = value.trim();
  const [type, blob, ...rest] = line.split(/\s+/);
  if (!type || !blob || /[\r\n]/.test(line)) return { ok: false, problem: "not-a-key" };
  if (!SSH_KEY_TYPES.includes(type)) return { ok: false, problem: "unsupported-type", type };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) return { ok: false, problem: "not-base64" };
  const fields = sshFields(Buffer.from(blob, "base64"));
  if (fields === undefined || fields[0]?.toString("latin1") !== type) return { ok: false, problem: "wrong-data", type };
  if (type === "ssh-rsa") {
    const bits = modulusBits(fields[2]);
    if (bits < 2048) return { ok: false, problem: "weak-rsa", bits };
  }
  return { ok: true, key: [type, blob, ...rest].join(" ") };
}

/** The length-prefixed fields of an SSH wire-format blob, or undefined when it is cut short. */
function sshFields(data: Buffer): Buffer[] | undefined {
  const fields: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) return undefined;
    const length = data.readUInt32BE(offset);
    if (offset + 4 + length > data.length) return undefined;
    fields.push(data.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields.length > 0 ? fields : undefined;
}

/** Bits of an SSH mpint (the RSA modulus), leading zero bytes not counted. */
function modulusBits(mpint: Buffer | undefined): number {
  if (!mpint) return 0;
  let start = 0;
  while (start < mpint.length && mpint[start] === 0) start++;
  if (start === mpint.length) return 0;
  return (mpint.length - start) * 8 - Math.clz32(mpint[start]) + 24;
}
