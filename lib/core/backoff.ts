/**
 * Backoff: the one way a retrying part of the service spaces its attempts (a KV call SQLite
 * reports busy, a feed read or watch that failed, a catch-up, a listener to reopen, a webhook).
 * A policy names the first pause and the cap; pauses double in between. Pure: callers own their
 * timers, whether a sleep or a record scheduled in KV.
 *
 * @module
 */

/** How pauses between attempts grow. */
export interface Backoff {
  /** The pause after the first failure, in ms. */
  readonly firstMs: number;
  /** The longest pause, in ms. */
  readonly maxMs: number;
  /** Draw each pause from its upper half, so parties that failed together don't retry together. */
  readonly jitter?: boolean;
}

/** The pause after `failures` failed attempts (1 for the first): doubling from `firstMs`, capped. */
export function pauseAfter(policy: Backoff, failures: number, random = Math.random): number {
  const ms = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.max(0, failures - 1));
  return policy.jitter ? ms / 2 + random() * (ms / 2) : ms;
}
