import { createHmac, randomBytes } from "node:crypto";
import { Hono, type Context } from "hono";
import type { AppConfig } from "./config";
import type { Directory, Member } from "./directory";
import { clientAddress, RateLimiter } from "./rate-limit";

/** The header naming the member in a 200 (platform/tech-login.ts: the proxy copies it onto the request). */
export const USER_HEADER = "X-Forwarded-User";
const REALM = 'Basic realm="Tech team: your directory login (uid)", charset="UTF-8"';
/**
 * How long a granted login is remembered. The browser sends the same credentials with every request of
 * the metrics UI (a dozen a minute): each would otherwise cost the directory an argon2 verification. A
 * revoked access or a changed password takes effect within this delay.
 */
export const GRANT_SECONDS = 60;

export interface TechAuthDeps {
  config: Pick<AppConfig, "rateLimit">;
  directory: Pick<Directory, "find" | "verify">;
  /** The client's address as the socket sees it (the proxy's). */
  socketAddress: (c: Context) => string;
  now?: () => number;
}

/** A GeneralizedTime (20270930000000Z) of this instant, comparable as text with the directory's. */
function generalizedTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

/**
 * Whether the member may use the tech team's tools: the rule of a login to the hosts (hosts/templates:
 * sssd's access filter and expiry, the keys command): in tech or admins, `assoAccessEnd` still ahead,
 * `shadowExpire` not reached, not locked for good. Before the nightly expiry closes an ended access, the
 * end date alone refuses it.
 */
export function hasTechAccess(member: Member, nowMs: number): boolean {
  const today = Math.floor(nowMs / 86_400_000);
  const expired = member.shadowExpire !== undefined && member.shadowExpire >= 0 && today >= member.shadowExpire;
  return (
    (member.tech || member.admin) &&
    member.canLogIn &&
    member.accessEnd !== undefined &&
    member.accessEnd >= generalizedTime(nowMs) &&
    !expired
  );
}

/** `Authorization: Basic base64(uid:password)`, or undefined. */
function basicCredentials(header: string | undefined): { login: string; password: string } | undefined {
  const [scheme, encoded] = (header ?? "").split(" ");
  if (scheme?.toLowerCase() !== "basic" || !encoded) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const separator = decoded.indexOf(":");
  return separator > 0 ? { login: decoded.slice(0, separator), password: decoded.slice(separator + 1) } : undefined;
}

/**
 * `GET /auth/tech`, the proxy's forwardAuth for tech-only pages (the metrics UI), served on its own port
 * that no route publishes (so `https://account.<domain>/auth/tech` does not exist): the member's uid and
 * password from the Basic header are checked by a bind as that member (found with the page's service
 * account), then their tech access. Only failures count against the client's address (the last
 * X-Forwarded-For entry, which the proxy writes), as the login form counts its attempts; a granted login
 * is remembered for GRANT_SECONDS under a keyed hash, never the password itself. Logs name the uid, never
 * a password.
 */
export function createTechAuth(deps: TechAuthDeps) {
  const { directory } = deps;
  const now = deps.now ?? Date.now;
  const failures = new RateLimiter(deps.config.rateLimit.attempts, deps.config.rateLimit.windowSeconds * 1000, now);
  const granted = new Map<string, { uid: string; until: number }>();
  const grantKey = randomBytes(32);
  const app = new Hono();

  const client = (c: Context) => clientAddress(c, deps.socketAddress);
  const challenge = (c: Context) => {
    c.header("WWW-Authenticate", REALM);
    return c.text("Log in with your directory account: your uid and password.", 401);
  };
  const grant = (c: Context, uid: string) => {
    c.header(USER_HEADER, uid);
    return c.text("ok");
  };

  app.get("/auth/tech", async (c) => {
    const credentials = basicCredentials(c.req.header("authorization"));
    if (!credentials) return challenge(c);
    const address = `tech ${client(c)}`;
    if (failures.blocked(address)) return c.text("Too many failed logins from this address; wait a few minutes.", 429);

    const key = createHmac("sha256", grantKey).update(`${credentials.login}\0${credentials.password}`).digest("base64");
    const remembered = granted.get(key);
    if (remembered && remembered.until > now()) return grant(c, remembered.uid);

    const member = await directory.find(credentials.login);
    if (!member || !member.canLogIn || !(await directory.verify(member.dn, credentials.password))) {
      failures.allow(address); // counts this failure
      console.log(`account: tech login refused${member ? ` uid=${member.uid}` : ""}`);
      return challenge(c);
    }
    if (!hasTechAccess(member, now())) {
      console.log(`account: tech login without tech access uid=${member.uid}`);
      return c.text("Your account has no tech access (tech or admins group, access end date ahead).", 403);
    }
    if (granted.size > 1_000) for (const [k, g] of granted) if (g.until <= now()) granted.delete(k);
    granted.set(key, { uid: member.uid, until: now() + GRANT_SECONDS * 1000 });
    console.log(`account: tech login uid=${member.uid}`);
    return grant(c, member.uid);
  });

  app.onError((error, c) => {
    console.error(`account: ${c.req.method} ${c.req.path}: ${error.message}`);
    return c.text("The directory cannot be reached; try again in a moment.", 503);
  });

  return app;
}
