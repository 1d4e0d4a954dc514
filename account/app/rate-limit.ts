import type { Context } from "hono";

/**
 * The client a request comes from, the key of its attempts. Behind the proxy the last X-Forwarded-For
 * entry is the one the proxy wrote; without one, the socket's peer.
 */
export function clientAddress(c: Context, socketAddress: (c: Context) => string): string {
  return (
    (c.req.header("x-forwarded-for") ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)
      .pop() ?? socketAddress(c)
  );
}

/**
 * Attempts per client address in a fixed window: enough to stop a guesser at the page (each login
 * attempt costs the directory an argon2 verification) without a store that outlives the process.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly attempts: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count one attempt of `key`; false when the key already used up its attempts in this window. */
  allow(key: string): boolean {
    const now = this.now();
    const window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      if (this.windows.size > 10_000) this.sweep(now);
      this.windows.set(key, { start: now, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= this.attempts;
  }

  /** Whether `key` used up its attempts in this window, counting nothing (for limits on failures only). */
  blocked(key: string): boolean {
    const window = this.windows.get(key);
    return window !== undefined && this.now() - window.start < this.windowMs && window.count >= this.attempts;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
  }
}
