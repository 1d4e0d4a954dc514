import * as http from "node:http";
import * as https from "node:https";
import type { Connection } from "./connection";

/**
 * Invitations are made by the account page (account/), which keeps the one-time token and mails the link
 * through the association's mail server. The CLI asks it over HTTPS, authenticated as the directory's
 * admin (the same bind DN and password the CLI uses; the page checks them with a bind).
 *
 *   ACCOUNT_URL      default https://account.<domain of the base DN>
 *   ACCOUNT_CA_FILE  PEM of the CA to trust (the proxy's self-signed certificate on local); default: system CAs
 */
export interface InvitationResult {
  /** Present with `mail: false`: the link to hand over yourself. */
  link?: string;
  mailedTo?: string;
  expiresInHours: number;
}

export function accountUrl(baseDn: string, env: Record<string, string | undefined>, flag?: string): string {
  const domain = baseDn
    .split(",")
    .map((rdn) => /^dc=(.+)$/i.exec(rdn.trim())?.[1])
    .filter(Boolean)
    .join(".");
  return (flag ?? env.ACCOUNT_URL ?? `https://account.${domain}`).replace(/\/$/, "");
}

export class InvitationError extends Error {}

export function requestInvitation(
  connection: Connection,
  url: string,
  request: { uid: string; mail: boolean },
  ca?: string,
): Promise<InvitationResult> {
  const target = new URL(`${url}/api/invitations`);
  const body = JSON.stringify(request);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const call = client.request(
      target,
      {
        method: "POST",
        auth: `${connection.bindDn}:${connection.bindPassword}`,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 30_000,
        ...(ca ? { ca } : {}),
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => {
          let answer: { error?: string } & Partial<InvitationResult> = {};
          try {
            answer = JSON.parse(text) as typeof answer;
          } catch {
            // Not the account page's JSON (a proxy's error page): reported below with the status.
          }
          if (response.statusCode === 200 && answer.expiresInHours !== undefined) resolve(answer as InvitationResult);
          else reject(new InvitationError(`the account page at ${url} refused: ${answer.error ?? `HTTP ${response.statusCode}`}`));
        });
      },
    );
    call.on("timeout", () => call.destroy(new Error("no answer in 30 s")));
    call.on("error", (error) =>
      reject(
        new InvitationError(
          `cannot reach the account page at ${url}: ${error.message}; check ACCOUNT_URL, ACCOUNT_CA_FILE and that it runs`,
        ),
      ),
    );
    call.end(body);
  });
}
