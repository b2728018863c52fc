/**
 * Rate limits: a token bucket per socket for inbound messages, and a fixed one-minute window per
 * client address for upgrades.
 *
 * @module
 */

/** A token bucket: `burst` tokens, refilled at `rate` per second. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one token at `now` (epoch ms); false when the bucket is empty. */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate / 1000);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

const WINDOW_MS = 60_000;
/** Addresses tracked at most; beyond it the oldest windows are forgotten. */
const MAX_TRACKED = 100_000;

/** At most `limit` hits per key per minute. */
export class WindowLimiter {
  readonly #limit: number;
  readonly #windows = new Map<string, { start: number; hits: number }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Counts a hit for `key` at `now`; returns 0 when allowed, else the seconds until the window
   * resets (for `Retry-After`).
   */
  hit(key: string, now: number): number {
    if (this.#limit === 0) return 0;
    let window = this.#windows.get(key);
    if (!window || now - window.start >= WINDOW_MS) {
      this.#windows.delete(key); // re-inserted last: the map stays ordered oldest first
      window = { start: now, hits: 0 };
      this.#windows.set(key, window);
      if (this.#windows.size > MAX_TRACKED) this.prune(now);
    }
    if (++window.hits <= this.#limit) return 0;
    return Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000));
  }

  /** Forgets expired windows, and the oldest ones while over the tracking cap. */
  prune(now: number): void {
    for (const [key, window] of this.#windows) {
      if (now - window.start < WINDOW_MS && this.#windows.size <= MAX_TRACKED) break;
      this.#windows.delete(key);
    }
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#windows.size;
  }
}
