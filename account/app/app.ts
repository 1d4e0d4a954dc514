import { randomBytes, timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { secureHeaders } from "hono/secure-headers";
import { bodyLimit } from "hono/body-limit";
import { html } from "hono/html";
import type { AppConfig } from "./config";
import type { Directory, Member, PasswordResult } from "./directory";
import { MESSAGES, pickLanguage, type Language, type Messages } from "./i18n";
import type { Mailer } from "./mailer";
import { accountPage, forgotForm, layout, loginForm, setPasswordForm, type Notice } from "./pages";
import { clientAddress, RateLimiter } from "./rate-limit";
import { checkSshKey } from "../../platform/ssh-key";
import type { TokenKind, TokenStore } from "./tokens";

export interface AppDeps {
  config: AppConfig;
  directory: Directory;
  tokens: TokenStore;
  mailer: Mailer;
  /** The client's address as the socket sees it (the proxy's, behind the proxy). */
  socketAddress: (c: Context) => string;
  now?: () => number;
}

interface Session {
  uid: string;
  csrf: string;
  expires: number;
}

const SESSION_MS = 30 * 60_000;
const COOKIE = "account_session";

/** Messages never carry a password, and the page logs none: only what was done, for which uid. */
function log(event: string, uid?: string): void {
  console.log(`account: ${event}${uid ? ` uid=${uid}` : ""}`);
}

export function createApp(deps: AppDeps) {
  const { config, directory, tokens, mailer } = deps;
  const now = deps.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const limiter = new RateLimiter(config.rateLimit.attempts, config.rateLimit.windowSeconds * 1000, now);
  const app = new Hono();

  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], formAction: ["'self'"], frameAncestors: ["'none'"] },
    }),
  );
  app.use(bodyLimit({ maxSize: 16 * 1024 }));

  const language = (c: Context): Language => {
    const lang = pickLanguage(c.req.query("lang"), getCookie(c, "lang"), c.req.header("accept-language"));
    if (c.req.query("lang") === lang) setCookie(c, "lang", lang, { path: "/", sameSite: "Lax", maxAge: 31_536_000 });
    return lang;
  };
  const client = (c: Context) => clientAddress(c, deps.socketAddress);
  const limited = (c: Context, form: string) => !limiter.allow(`${form} ${client(c)}`);
  const secure = (c: Context) => c.req.header("x-forwarded-proto") === "https";
  // Only the hint and the refusal's wording need it: ppolicy decides. Without it, the default policy's 12.
  const minLength = async () =>
    directory.minimumPasswordLength().catch((error: Error) => {
      console.error(`account: ${error.message}`);
      return 12;
    });

  const render = async (
    c: Context,
    body: (t: Messages) => Parameters<typeof layout>[3],
    notice?: Notice,
    status: 200 | 400 | 403 | 404 | 410 | 429 = 200,
  ) => {
    const lang = language(c);
    const t = MESSAGES[lang];
    // Forms post to addresses that answer POST only, but the token pages: the language link goes where GET works.
    const here = c.req.method === "GET" || /^\/(invitation|reset)\//.test(c.req.path) ? c.req.path : "/";
    return c.html(layout(lang, t, notice, body(t), here), status);
  };
  const session = (c: Context): Session | undefined => {
    const id = getCookie(c, COOKIE);
    const found = id ? sessions.get(id) : undefined;
    if (!found || found.expires <= now()) return undefined;
    found.expires = now() + SESSION_MS;
    return found;
  };
  const csrfOk = (s: Session, given: unknown) =>
    typeof given === "string" && given.length === s.csrf.length && timingSafeEqual(Buffer.from(given), Buffer.from(s.csrf));
  const showAccount = async (c: Context, s: Session, notice?: Notice, status: 200 | 400 = 200) => {
    const member = await directory.find(s.uid);
    if (!member || !member.canLogIn) return render(c, loginForm, undefined, 403);
    const min = await minLength();
    return render(c, (t) => accountPage(t, member, s.csrf, min), notice, status);
  };
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const passwordNotice = (t: Messages, result: PasswordResult, min: number): Notice =>
    result === "wrong-old-password" ? { kind: "error", text: t.wrongOld } : { kind: "error", text: t.weak(min) };

  app.get("/healthz", (c) => c.text("ok"));

  app.get("/", async (c) => {
    const s = session(c);
    return s ? showAccount(c, s) : render(c, loginForm);
  });

  app.post("/login", async (c) => {
    const t = MESSAGES[language(c)];
    if (limited(c, "login")) return render(c, loginForm, { kind: "error", text: t.tooMany }, 429);
    const form = await c.req.parseBody();
    const member = await directory.find(text(form.uid));
    if (!member || !member.canLogIn || !(await directory.verify(member.dn, text(form.password)))) {
      log("login refused", member?.uid);
      return render(c, loginForm, { kind: "error", text: t.badLogin }, 403);
    }
    const id = randomBytes(32).toString("base64url");
    const s = { uid: member.uid, csrf: randomBytes(24).toString("base64url"), expires: now() + SESSION_MS };
    sessions.set(id, s);
    setCookie(c, COOKIE, id, { path: "/", httpOnly: true, sameSite: "Strict", secure: secure(c) });
    log("login", member.uid);
    return showAccount(c, s);
  });

  app.post("/logout", async (c) => {
    const id = getCookie(c, COOKIE);
    if (id) sessions.delete(id);
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  app.post("/password", async (c) => {
    const t = MESSAGES[language(c)];
    const s = session(c);
    const form = await c.req.parseBody();
    if (!s || !csrfOk(s, form.csrf)) return render(c, loginForm, { kind: "error", text: t.csrf }, 403);
    if (limited(c, "password")) return showAccount(c, s, { kind: "error", text: t.tooMany });
    if (text(form.new) !== text(form.confirm)) return showAccount(c, s, { kind: "error", text: t.mismatch }, 400);
    const result = await directory.changePassword(s.uid, text(form.old), text(form.new));
    log(`password change: ${result}`, s.uid);
    if (result !== "changed") return showAccount(c, s, passwordNotice(t, result, await minLength()), 400);
    return showAccount(c, s, { kind: "ok", text: t.passwordChanged });
  });

  app.post("/keys/:action{add|remove}", async (c) => {
    const t = MESSAGES[language(c)];
    const s = session(c);
    const form = await c.req.parseBody();
    if (!s || !csrfOk(s, form.csrf)) return render(c, loginForm, { kind: "error", text: t.csrf }, 403);
    const member = await directory.find(s.uid);
    if (!member) return render(c, loginForm, { kind: "error", text: t.csrf }, 403);
    if (c.req.param("action") === "remove") {
      const key = text(form.key);
      if (member.sshKeys.includes(key)) await directory.removeKey(s.uid, key);
      log("key removed", s.uid);
      return showAccount(c, s, { kind: "ok", text: t.keyRemoved });
    }
    const checked = checkSshKey(text(form.key));
    if (!checked.ok) return showAccount(c, s, { kind: "error", text: t.keyProblems[checked.problem] }, 400);
    if (member.sshKeys.includes(checked.key)) return showAccount(c, s, { kind: "error", text: t.keyDuplicate }, 400);
    await directory.addKey(s.uid, checked.key);
    log("key added", s.uid);
    return showAccount(c, s, { kind: "ok", text: t.keyAdded });
  });

  app.get("/forgot", (c) => render(c, forgotForm));

  app.post("/forgot", async (c) => {
    const t = MESSAGES[language(c)];
    if (limited(c, "forgot")) return render(c, forgotForm, { kind: "error", text: t.tooMany }, 429);
    const form = await c.req.parseBody();
    const member = await directory.find(text(form.login));
    // The same answer whether or not the account exists: the form tells nobody who is a member.
    if (member?.canLogIn) await sendLink(member, "reset", t);
    return render(c, forgotForm, { kind: "ok", text: t.linkSent });
  });

  const linkRoutes: [string, TokenKind][] = [
    ["/invitation/:token", "invitation"],
    ["/reset/:token", "reset"],
  ];
  for (const [route, kind] of linkRoutes) {
    const heading = (t: Messages, member: Member) => (kind === "invitation" ? t.welcome(member.name) : t.resetFor(member.name));
    const open = async (c: Context) => {
      const t = MESSAGES[language(c)];
      const state = tokens.check(c.req.param("token") ?? "", kind);
      if (state.state === "expired") return { refused: render(c, () => html``, { kind: "error", text: t.linkExpired }, 410) };
      const member = state.state === "valid" ? await directory.find(state.uid) : undefined;
      if (!member?.canLogIn) return { refused: render(c, () => html``, { kind: "error", text: t.linkUsed }, 404) };
      return { member, t };
    };
    app.get(route, async (c) => {
      const opened = await open(c);
      if ("refused" in opened) return opened.refused;
      const min = await minLength();
      return render(c, (t) => setPasswordForm(t, heading(t, opened.member), c.req.path, min));
    });
    app.post(route, async (c) => {
      const opened = await open(c);
      if ("refused" in opened) return opened.refused;
      const { member, t } = opened;
      const min = await minLength();
      const form = await c.req.parseBody();
      const again = (notice: Notice) => render(c, (tt) => setPasswordForm(tt, heading(tt, member), c.req.path, min), notice, 400);
      if (text(form.new) !== text(form.confirm)) return again({ kind: "error", text: t.mismatch });
      const result = await directory.setPassword(member.uid, text(form.new));
      log(`${kind} password: ${result}`, member.uid);
      if (result !== "changed") return again(passwordNotice(t, result, min));
      tokens.consume(c.req.param("token") ?? "");
      return render(c, loginForm, { kind: "ok", text: t.passwordSet });
    });
  }

  async function sendLink(member: Member, kind: TokenKind, t: Messages): Promise<string> {
    const ttl = kind === "invitation" ? config.invitationHours * 3_600_000 : config.resetMinutes * 60_000;
    const link = `${config.publicUrl}/${kind}/${tokens.issue(member.uid, kind, ttl)}`;
    const mail =
      kind === "invitation"
        ? { subject: t.mailInvitationSubject, text: t.mailInvitation(member.name, link, config.invitationHours) }
        : { subject: t.mailResetSubject, text: t.mailReset(member.name, link, config.resetMinutes) };
    await mailer.send({ to: member.mail, ...mail });
    log(`${kind} mailed`, member.uid);
    return link;
  }

  /**
   * The members CLI asks for invitations here (`members add`, `members invite`), authenticated as the
   * directory's admin (HTTP Basic, checked by a bind). `{ uid, mail: false }` returns the link unsent.
   */
  app.post("/api/invitations", async (c) => {
    if (limited(c, "api")) return c.json({ error: "too many attempts from this address; wait a few minutes" }, 429);
    const [scheme, encoded] = (c.req.header("authorization") ?? "").split(" ");
    const decoded = scheme === "Basic" && encoded ? Buffer.from(encoded, "base64").toString("utf8") : "";
    const separator = decoded.indexOf(":");
    const [dn, password] = separator > 0 ? [decoded.slice(0, separator), decoded.slice(separator + 1)] : ["", ""];
    if (dn.toLowerCase() !== `cn=admin,${config.ldap.baseDn}`.toLowerCase() || !(await directory.verify(dn, password))) {
      log("invitation API: refused credentials");
      return c.json({ error: "the directory admin's DN and password are required (HTTP Basic)" }, 401);
    }
    const body = (await c.req.json().catch(() => ({}))) as { uid?: unknown; mail?: unknown; lang?: unknown };
    const member = typeof body.uid === "string" ? await directory.find(body.uid) : undefined;
    if (!member || member.uid !== body.uid) return c.json({ error: `uid '${String(body.uid)}': no such member` }, 404);
    if (!member.canLogIn) return c.json({ error: `uid '${member.uid}': has no login (a legal person, or an access locked for good)` }, 409);
    const t = MESSAGES[body.lang === "en" ? "en" : "fr"];
    if (body.mail === false) {
      const link = `${config.publicUrl}/invitation/${tokens.issue(member.uid, "invitation", config.invitationHours * 3_600_000)}`;
      log("invitation link made", member.uid);
      return c.json({ link, expiresInHours: config.invitationHours });
    }
    await sendLink(member, "invitation", t);
    return c.json({ mailedTo: member.mail, expiresInHours: config.invitationHours });
  });

  app.onError((error, c) => {
    console.error(`account: ${c.req.method} ${c.req.path}: ${error.message}`);
    return c.text("The account page could not reach the directory or the mail server; try again in a moment.", 503);
  });

  return app;
}
