/**
 * The delivery state this isolate keeps per id with local sessions: cursors, the chain that
 * serializes catch-ups, how many sessions each recent alarm reached, and the KV watch of its head
 * keys. Small operations on that state; `Fanout` decides what to deliver.
 *
 * @module
 */

import { headKey } from "./kv_util.ts";
import { messageHeadKey } from "./relay.ts";

/** Recent seqs whose delivery counts are remembered per id. */
const RECENT = 256;

/** Delivery state of one id on this isolate. */
export interface Target {
  id: string;
  /** Last alarm seq delivered to this isolate's sessions of the id. */
  cursor: number;
  /** Last message seq delivered. */
  messageCursor: number;
  /** Resolves once the cursors are initialized. */
  ready: Promise<void>;
  /** Serializes catch-ups, so alarms go out in seq order. */
  chain: Promise<unknown>;
  watch: ReadableStreamDefaultReader<unknown> | undefined;
  /** The cursors are initialized. */
  live: boolean;
  /** Catch-ups queued on `chain` and not finished. */
  pending: number;
  /** Sessions each recent seq was handed to, for the publisher's `delivered`. */
  delivered: Map<number, number>;
}

/** A target for `id` whose cursors are not known yet. */
export function newTarget(id: string): Target {
  return {
    id,
    cursor: 0,
    messageCursor: 0,
    ready: Promise.resolve(),
    chain: Promise.resolve(),
    watch: undefined,
    live: false,
    pending: 0,
    delivered: new Map(),
  };
}

/** Makes `run` the tail of the target's chain, counted in `pending` until it settles. */
export function enqueue(t: Target, run: Promise<unknown>): Promise<unknown> {
  t.pending++;
  t.chain = run.catch(() => {}).finally(() => t.pending--);
  return run;
}

/** Moves the cursor to `seq`, which reached `sessions` sessions. */
export function delivered(t: Target, seq: number, sessions: number): void {
  t.cursor = seq;
  t.delivered.set(seq, sessions);
  // Oldest first (Map keeps insertion order).
  if (t.delivered.size > RECENT) t.delivered.delete(t.delivered.keys().next().value!);
}

/** Stops watching the target's keys, if it was. */
export function unwatch(t: Target): void {
  t.watch?.cancel().catch(() => {});
  t.watch = undefined;
}

/**
 * Watches the target's head keys (alarms, messages) in `kv`, telling `onHeads` each new value
 * (either may be `undefined`), and `onError` once if the watch fails.
 */
export function watchHeads(
  kv: Deno.Kv,
  t: Target,
  onHeads: (alarms: number | undefined, messages: number | undefined) => void,
  onError: (error: unknown) => void,
): void {
  const reader = kv.watch([headKey(t.id), messageHeadKey(t.id)]).getReader();
  t.watch = reader;
  (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const [alarms, messages] = value;
      onHeads(numberOrUndefined(alarms?.value), numberOrUndefined(messages?.value));
    }
  })().catch(onError);
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
