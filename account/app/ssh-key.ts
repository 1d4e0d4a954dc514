/**
 * An OpenSSH public key line as a member pastes it: `<type> <base64 blob> [comment]`. The same rules as
 * the members CLI (ldap/members/validate.ts; tests/unit/account checks both agree on every case): a
 * supported type, a blob that decodes and names the same type, RSA of 2048 bits or more.
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

export type SshKeyProblem = "not-a-key" | "unsupported-type" | "not-base64" | "wrong-data" | "weak-rsa";
export type SshKeyCheck = { ok: true; key: string } | { ok: false; problem: SshKeyProblem };

export function checkSshKey(value: string): SshKeyCheck {
  const line = value.trim();
  const [type, blob, ...rest] = line.split(/\s+/);
  if (!type || !blob || /[\r\n]/.test(line)) return { ok: false, problem: "not-a-key" };
  if (!SSH_KEY_TYPES.includes(type)) return { ok: false, problem: "unsupported-type" };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) return { ok: false, problem: "not-base64" };
  const fields = sshFields(Buffer.from(blob, "base64"));
  if (fields === undefined || fields[0]?.toString("latin1") !== type) return { ok: false, problem: "wrong-data" };
  if (type === "ssh-rsa" && modulusBits(fields[2]) < 2048) return { ok: false, problem: "weak-rsa" };
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

function modulusBits(mpint: Buffer | undefined): number {
  if (!mpint) return 0;
  let start = 0;
  while (start < mpint.length && mpint[start] === 0) start++;
  if (start === mpint.length) return 0;
  return (mpint.length - start) * 8 - Math.clz32(mpint[start]) + 24;
}
