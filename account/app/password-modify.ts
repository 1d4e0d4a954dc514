/** The LDAP Password Modify extended operation (RFC 3062): slapd hashes the new password and ppolicy checks it. */
export const PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1";

/**
 * BER of a PasswdModifyRequestValue: SEQUENCE { [0] userIdentity OPTIONAL, [1] oldPasswd OPTIONAL,
 * [2] newPasswd }. ldapts sends extended requests with a raw value only, so the page encodes it here.
 */
export function passwordModifyRequest(fields: { identity?: string; oldPassword?: string; newPassword: string }): Buffer {
  const parts = [
    ...(fields.identity !== undefined ? [tlv(0x80, Buffer.from(fields.identity, "utf8"))] : []),
    ...(fields.oldPassword !== undefined ? [tlv(0x81, Buffer.from(fields.oldPassword, "utf8"))] : []),
    tlv(0x82, Buffer.from(fields.newPassword, "utf8")),
  ];
  return tlv(0x30, Buffer.concat(parts));
}

function tlv(tag: number, value: Buffer): Buffer {
  let length: Buffer;
  if (value.length < 0x80) length = Buffer.from([value.length]);
  else if (value.length < 0x100) length = Buffer.from([0x81, value.length]);
  else length = Buffer.from([0x82, value.length >> 8, value.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, value]);
}
