import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** What a link in a mail lets its holder do once: set the first password, or a forgotten one. */
export type TokenKind = "invitation" | "reset";

interface Pending {
  uid: string;
  kind: TokenKind;
  /** Milliseconds since 1970. */
  expires: number;
}

export type TokenState = { state: "valid"; uid: string } | { state: "expired" } | { state: "unknown" };

/**
 * Pending invitation and reset links, kept in one JSON file of the data volume so that a restart keeps
 * them. Only a SHA-256 of each token is stored: reading the file gives no usable link. A new link for a
 * member replaces their previous one of the same kind; a used link is deleted; expired ones are dropped
 * at the next write.
 */
export class TokenStore {
  private readonly file: string;
  private pending: Record<string, Pending>;

  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = path.join(dataDir, "tokens.json");
    this.pending = fs.existsSync(this.file) ? (JSON.parse(fs.readFileSync(this.file, "utf8")) as Record<string, Pending>) : {};
  }

  /** A new random token (256 bits, URL-safe) for uid, valid for ttlMs. */
  issue(uid: string, kind: TokenKind, ttlMs: number): string {
    const token = randomBytes(32).toString("base64url");
    for (const [key, entry] of Object.entries(this.pending)) {
      if (entry.uid === uid && entry.kind === kind) delete this.pending[key];
    }
    this.pending[digest(token)] = { uid, kind, expires: this.now() + ttlMs };
    this.save();
    return token;
  }

  check(token: string, kind: TokenKind): TokenState {
    const entry = this.pending[digest(token)];
    if (!entry || entry.kind !== kind) return { state: "unknown" };
    if (entry.expires <= this.now()) return { state: "expired" };
    return { state: "valid", uid: entry.uid };
  }

  /** Forget a token once it was used. */
  consume(token: string): void {
    delete this.pending[digest(token)];
    this.save();
  }

  private save(): void {
    const now = this.now();
    for (const [key, entry] of Object.entries(this.pending)) if (entry.expires <= now) delete this.pending[key];
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(this.pending), { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
