import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Attribute, Change, Client } from "ldapts";
import type { ExecResult } from "./docker";
import type { RunningStack } from "./harness";

/**
 * What the ldap integration scenarios need to talk to the running directory from the test process:
 * its address, the certificate it made (self-signed on local) and the credentials of the rendered stack.
 * The certificate names the container `ldap`; tests connect by address and check that name.
 * (A test's session with the directory container; not the DirectoryServer component, nor the CLI's MembersDirectory.)
 */
export interface DirectorySession {
  ip: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** PEM of the directory's certificate, and a file holding it (for the CLI's LDAP_CA_FILE). */
  ca: string;
  caFile: string;
  servicePassword(service: string): string;
  /** A client over LDAPS (default), StartTLS on 389, or plain LDAP on 389. Not bound yet. */
  client(transport?: "ldaps" | "starttls" | "plain"): Promise<Client>;
  /** A client bound as dn with password, over LDAPS. */
  bound(dn: string, password: string): Promise<Client>;
  /** The data as slapcat prints it (inside the container, through the local database). */
  slapcat(database: 0 | 1): Promise<string>;
  /** A person's userPassword as stored (the hash), read with slapcat. */
  storedPassword(uid: string): Promise<string>;
  peopleDn(uid: string): string;
}

/** How the image stores a password: argon2id at the cost ldap-entrypoint states (libsodium's own is 64 MiB). */
export const IMAGE_PASSWORD_HASH = /^\{ARGON2\}\$argon2id\$v=19\$m=4096,t=3,p=1\$/;

export const CERT_NAME = "ldap";

export async function openDirectory(stack: RunningStack): Promise<DirectorySession> {
  const spec = stack.spec("ldap");
  const ip = await stack.ip("ldap");
  const cert = await stack.exec("ldap", ["cat", "/etc/ldap/tls/tls.crt"]);
  if (cert.exitCode !== 0) throw new Error(`cannot read the directory certificate: ${cert.stderr}`);
  const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ldap-ca-")), "tls.crt");
  fs.writeFileSync(caFile, cert.stdout);
  const baseDn = spec.env.LDAP_BASE_DN;
  const tlsOptions = { ca: cert.stdout, servername: CERT_NAME };

  const directory: DirectorySession = {
    ip,
    baseDn,
    adminDn: `cn=admin,${baseDn}`,
    adminPassword: spec.secrets.LDAP_ADMIN_PASSWORD,
    ca: cert.stdout,
    caFile,
    servicePassword: (service) => spec.secrets[`LDAP_SERVICE_PASSWORD_${service.toUpperCase()}`],
    async client(transport = "ldaps") {
      const url = transport === "ldaps" ? `ldaps://${ip}:636` : `ldap://${ip}:389`;
      // ldapts speaks TLS from the first byte whenever tlsOptions are given: only pass them for ldaps.
      const client = new Client({ url, ...(transport === "ldaps" ? { tlsOptions } : {}), connectTimeout: 5_000, timeout: 10_000 });
      if (transport === "starttls") await client.startTLS(tlsOptions);
      return client;
    },
    async bound(dn, password) {
      const client = await directory.client("ldaps");
      await client.bind(dn, password);
      return client;
    },
    async slapcat(database) {
      const result = await stack.exec("ldap", ["slapcat", "-F", "/etc/ldap/slapd.d", "-n", String(database), "-o", "ldif-wrap=no"]);
      if (result.exitCode !== 0) throw new Error(`slapcat failed: ${result.stderr}`);
      return result.stdout;
    },
    async storedPassword(uid) {
      const entry = (await directory.slapcat(1)).split("\n\n").find((block) => block.startsWith(`dn: ${directory.peopleDn(uid)}\n`)) ?? "";
      return Buffer.from(/^userPassword:: (.+)$/m.exec(entry)?.[1] ?? "", "base64").toString("utf8");
    },
    peopleDn: (uid) => `uid=${uid},ou=people,${baseDn}`,
  };
  return directory;
}

/** Add a physical member with a login and a password, as the admin (independent of the CLI). */
export async function addPerson(directory: DirectorySession, uid: string, password: string, uidNumber: number): Promise<string> {
  const admin = await directory.bound(directory.adminDn, directory.adminPassword);
  const dn = directory.peopleDn(uid);
  try {
    await admin.add(dn, {
      objectClass: ["inetOrgPerson", "posixAccount", "shadowAccount", "ldapPublicKey", "assoMember"],
      uid,
      cn: `${uid} Test`,
      sn: "Test",
      mail: `${uid}@asso.localhost`,
      uidNumber: String(uidNumber),
      gidNumber: "10000",
      homeDirectory: `/home/${uid}`,
      loginShell: "/bin/bash",
      assoPersonType: "physical",
      userPassword: password,
    });
    await admin.modify(`cn=members,ou=groups,${directory.baseDn}`, [
      new Change({ operation: "add", modification: new Attribute({ type: "member", values: [dn] }) }),
    ]);
  } finally {
    await admin.unbind();
  }
  return dn;
}

/**
 * BER of a Password Modify request (RFC 3062): SEQUENCE { [0] userIdentity, [1] oldPasswd, [2] newPasswd },
 * for `client.exop("1.3.6.1.4.1.4203.1.11.1", ...)`: as the user themself (old password given), or for
 * another entry (`identity`, no old password) as the account page does.
 */
export function passwordModifyValue(oldPassword: string | undefined, newPassword: string, identity?: string): Buffer {
  const field = (tag: number, value: string) => tlv(tag, Buffer.from(value, "utf8"));
  const fields = [
    ...(identity !== undefined ? [field(0x80, identity)] : []),
    ...(oldPassword !== undefined ? [field(0x81, oldPassword)] : []),
    field(0x82, newPassword),
  ];
  return tlv(0x30, Buffer.concat(fields));
}

function tlv(tag: number, value: Buffer): Buffer {
  const length = value.length < 0x80 ? Buffer.from([value.length]) : Buffer.from([0x82, value.length >> 8, value.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, value]);
}

/** The class name of the error a promise rejects with (e.g. InsufficientAccessError), or "resolved". */
export async function rejectsWith(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).constructor.name;
  }
  return "resolved";
}

const MEMBERS_CLI = path.resolve(__dirname, "../../ldap/members/cli.ts");

/** The members CLI's connection settings (as in `.env`) for the directory container, as the admin over LDAPS. */
export function membersCliEnv(directory: DirectorySession): Record<string, string> {
  return {
    LDAP_URL: `ldaps://${directory.ip}:636`,
    LDAP_BASE_DN: directory.baseDn,
    LDAP_BIND_PASSWORD: directory.adminPassword,
    LDAP_CA_FILE: directory.caFile,
    LDAP_TLS_SERVERNAME: CERT_NAME,
  };
}

/**
 * `npm run members -- ARGS` as a child process against the directory container, as the admin over
 * LDAPS; `env` overrides a connection setting (e.g. a wrong LDAP_BIND_PASSWORD, an ldap:// URL).
 */
export function runMembersCli(directory: DirectorySession, args: string[], env: Record<string, string> = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MEMBERS_CLI, ...args],
      { env: { ...process.env, ...membersCliEnv(directory), ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ exitCode: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}
