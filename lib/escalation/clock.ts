/**
 * Time for the scheduler, injected: production uses the system clock and real timers; unit tests
 * pass a clock they move by hand, so deadlines are tested without sleeping.
 *
 * @module
 */

/** The current time and a one-shot timer. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** A clock reading `now` with real timers. */
export function systemClock(now: () => number = Date.now): Clock {
  return {
    now,
    after(ms, fn) {
      const timer = setTimeout(fn, Math.max(0, ms));
      return () => clearTimeout(timer);
    },
  };
}
