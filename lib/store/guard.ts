/**
 * The wrapper every KV call goes through: failures become a {@linkcode StoreError}, and SQLite's
 * "database is locked" (another isolate writing) is retried with backoff first.
 *
 * @module
 */
import { type Backoff, pauseAfter, StoreError } from "../core/mod.ts";

/** Attempts at an operation that SQLite reports as busy, before giving up. */
const BUSY_ATTEMPTS = 12;

/**
 * Whether `error` is SQLite saying another isolate holds the write lock: a local store shared
 * by several isolates answers "database is locked" while another one writes.
 */
export function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is (locked|busy)/i.test(error.message);
}

/** Pauses between attempts at a busy operation: about 1.5 s in all. */
const BUSY_BACKOFF: Backoff = { firstMs: 2, maxMs: 400, jitter: true };

/**
 * Runs a KV operation (built inside `fn`, so a retry starts over), turning any failure into a
 * {@linkcode StoreError}. Busy errors are retried with backoff before they count as failures.
 */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= BUSY_ATTEMPTS || !isBusy(error)) {
        throw new StoreError(error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, pauseAfter(BUSY_BACKOFF, attempt)));
    }
  }
}
