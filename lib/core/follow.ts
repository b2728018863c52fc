/**
 * Following a stream that may end or fail at any time (a KV watch): the one loop the feed
 * follower, the policy cache and discovery share. Its lifetime is an `AbortSignal`; pauses
 * follow a {@linkcode Backoff} and can be put on an injected clock.
 *
 * @module
 */
import { type Backoff, pauseAfter } from "./backoff.ts";

/** Waits `ms`, or less if `signal` aborts first. Never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** A {@linkcode Sleep} on real timers. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** How {@linkcode followStream} behaves. */
export interface FollowOptions {
  /** Ends the following: the open stream is cancelled and no pause or reopening follows. */
  signal: AbortSignal;
  /** Pauses before reopening after the stream ended or failed, growing while nothing arrives. */
  backoff: Backoff;
  /** A failure of the stream or of `onValue` (not reported once aborted). */
  onError(error: unknown): void;
  /** The pause; real timers by default. */
  sleep?: Sleep;
}

/**
 * Opens `open()` and hands each value to `onValue`, one at a time, in order; when the stream ends
 * or fails (or `onValue` throws), pauses and opens it again, until `signal` aborts. A value
 * handled resets the backoff. Resolves once aborted.
 */
export async function followStream<T>(
  open: () => ReadableStream<T>,
  onValue: (value: T) => unknown,
  options: FollowOptions,
): Promise<void> {
  const { signal, backoff, onError } = options;
  const pause = options.sleep ?? sleep;
  let failures = 0;
  while (!signal.aborted) {
    const reader = open().getReader();
    const cancel = () => reader.cancel().catch(() => {});
    signal.addEventListener("abort", cancel);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || signal.aborted) break;
        await onValue(value);
        failures = 0;
      }
    } catch (error) {
      if (!signal.aborted) onError(error);
    } finally {
      signal.removeEventListener("abort", cancel);
      cancel();
    }
    if (signal.aborted) return;
    await pause(pauseAfter(backoff, ++failures), signal);
  }
}
