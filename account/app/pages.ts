import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Member } from "./directory";
import type { Language, Messages } from "./i18n";

/**
 * The page's HTML: plain forms that work without JavaScript, labels on every field, messages in a
 * live region. Every value is escaped by hono's `html` template.
 */
type Fragment = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface Notice {
  kind: "error" | "ok";
  text: string;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:.8rem;font-weight:600}input[type=text],input[type=password],textarea{width:100%;padding:.4rem;font:inherit}
button{margin-top:.8rem;padding:.4rem 1rem;font:inherit}.error{color:#a00;border-left:4px solid #a00;padding-left:.6rem}
.ok{color:#060;border-left:4px solid #060;padding-left:.6rem}code{word-break:break-all}li{margin:.4rem 0}`;

/** `here`: the address the language link reloads (a page that answers GET). */
export function layout(lang: Language, t: Messages, notice: Notice | undefined, body: Fragment, here = "/"): Fragment {
  const other = lang === "fr" ? "en" : "fr";
  return html`<!doctype html>
    <html lang="${lang}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${t.title}</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <p><a href="${here}?lang=${other}" hreflang="${other}">${other === "fr" ? "Français" : "English"}</a></p>
          <h1>${t.title}</h1>
        </header>
        <main>
          <div role="status" aria-live="polite">${notice ? html`<p class="${notice.kind}" id="notice">${notice.text}</p>` : ""}</div>
          ${body}
        </main>
      </body>
    </html>`;
}

export function loginForm(t: Messages): Fragment {
  return html`<form method="post" action="/login">
      <label for="uid">${t.uid}</label><input type="text" id="uid" name="uid" autocomplete="username" required />
      <label for="password">${t.password}</label
      ><input type="password" id="password" name="password" autocomplete="current-password" required />
      <button type="submit">${t.login}</button>
    </form>
    <p><a href="/forgot">${t.forgot}</a></p>`;
}

export function forgotForm(t: Messages): Fragment {
  return html`<form method="post" action="/forgot">
    <label for="login">${t.uidOrMail}</label><input type="text" id="login" name="login" autocomplete="username" required />
    <button type="submit">${t.sendLink}</button>
  </form>`;
}

function newPasswordFields(t: Messages, minLength: number): Fragment {
  return html`<label for="new">${t.newPassword}</label
    ><input type="password" id="new" name="new" autocomplete="new-password" aria-describedby="hint" required />
    <p id="hint">${t.passwordHint(minLength)}</p>
    <label for="confirm">${t.confirmPassword}</label
    ><input type="password" id="confirm" name="confirm" autocomplete="new-password" required />`;
}

/** The form of an invitation or reset link: the token stays in the URL it was posted to. */
export function setPasswordForm(t: Messages, heading: string, action: string, minLength: number): Fragment {
  return html`<h2>${heading}</h2>
    <form method="post" action="${action}">
      ${newPasswordFields(t, minLength)}
      <button type="submit">${t.setPassword}</button>
    </form>`;
}

function day(value: string | undefined, t: Messages): string {
  return value ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}` : t.none;
}

export function accountPage(t: Messages, member: Member, csrf: string, minLength: number): Fragment {
  return html`<h2>${member.name} (${member.uid})</h2>
    <dl>
      <dt>${t.membershipEnd}</dt>
      <dd id="membership-end">${day(member.membershipEnd, t)}</dd>
      <dt>${t.accessEnd}</dt>
      <dd id="access-end">${member.tech ? day(member.accessEnd, t) : t.none}</dd>
    </dl>
    <section aria-labelledby="password-heading">
      <h2 id="password-heading">${t.changePassword}</h2>
      <form method="post" action="/password">
        <input type="hidden" name="csrf" value="${csrf}" /> <label for="old">${t.oldPassword}</label
        ><input type="password" id="old" name="old" autocomplete="current-password" required />
        ${newPasswordFields(t, minLength)}
        <button type="submit">${t.changePassword}</button>
      </form>
    </section>
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">${t.keys}</h2>
      <p>${t.keysTechOnly}</p>
      ${
        member.sshKeys.length === 0
          ? html`<p>${t.noKeys}</p>`
          : html`<ul>
              ${member.sshKeys.map(
                (key) =>
                  html`<li>
                    <code>${key}</code>
                    <form method="post" action="/keys/remove">
                      <input type="hidden" name="csrf" value="${csrf}" /><input type="hidden" name="key" value="${key}" /><button
                        type="submit"
                      >
                        ${t.removeKey}
                      </button>
                    </form>
                  </li>`,
              )}
            </ul>`
      }
      <form method="post" action="/keys/add">
        <input type="hidden" name="csrf" value="${csrf}" /> <label for="key">${t.keyLabel}</label
        ><textarea id="key" name="key" rows="3" required></textarea> <button type="submit">${t.addKey}</button>
      </form>
    </section>
    <form method="post" action="/logout">
      <input type="hidden" name="csrf" value="${csrf}" /><button type="submit">${t.logout}</button>
    </form>`;
}
