/**
 * Time for what runs when it is due (escalation deadlines, the ends of shelvings), injected:
 * production uses the system clock and real timers; unit tests pass a clock they move by hand,
 * so deadlines are tested without sleeping.
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

/** The longest wait a timer can hold. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A clock reading `now` with real timers. */
export function systemClock(now: () => number = Date.now): Clock {
  return {
    now,
    after(ms, fn) {
      // Past 2^31 - 1 ms a timer would fire at once: such a wait is cut short instead.
      const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
      return () => clearTimeout(timer);
    },
  };
}
