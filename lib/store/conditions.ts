/**
 * Conditions in KV: one record per (target, key) at `["cond", t, key]`, changed only in the
 * commit that appends the change's entry to the log (`appender.ts`), and read back here.
 *
 * @module
 */
import type { Condition, EntryFrames } from "../core/mod.ts";
import type { KvLike } from "./call_timeout.ts";
import { guard } from "./guard.ts";
import { condKey, condPrefix } from "./schema.ts";

/**
 * A record as KV holds it: its JSON text, which KV stores as a plain string (cheaper to write
 * than an object V8 serializes field by field).
 */
export function encodeCondition(condition: Condition): string {
  return JSON.stringify(condition);
}

/**
 * How a record of `condition` is written: back to normal, it expires after `retentionMs` (with
 * the log's entries of it); active, it is kept however old.
 */
export function recordExpiry(
  condition: Condition,
  retentionMs: number,
): { expireIn: number } | undefined {
  return condition.state === "normal" ? { expireIn: retentionMs } : undefined;
}

/** Adds to `op` the record of `condition` as it is now (see {@linkcode recordExpiry}). */
export function writeCondition(
  op: Deno.AtomicOperation,
  condition: Condition,
  retentionMs: number,
): void {
  const expiry = recordExpiry(condition, retentionMs);
  op.set(condKey(condition.id, condition.key), encodeCondition(condition), expiry);
}

/**
 * The record of a condition just raised, from the frames of its raise (`frames.alarm`: the
 * alarm it keeps, `frames.condition`: its view) and its recent raise times: the JSON
 * {@linkcode encodeCondition} would write, without serializing the alarm again.
 */
export function encodeRaised(frames: EntryFrames, recent: readonly number[]): string {
  return `${frames.condition!.slice(0, -1)},"alarm":${frames.alarm!},"recent":${
    JSON.stringify(recent)
  }}`;
}

/** A record as {@linkcode encodeCondition} wrote it, or `undefined` for none. */
export function decodeCondition(value: unknown): Condition | undefined {
  // Written by encodeCondition from a Condition: ours, not untrusted input.
  return typeof value === "string" ? JSON.parse(value) : undefined;
}

/** Condition `key` of `target`, if it was ever raised. */
export async function readCondition(
  kv: KvLike,
  target: string,
  key: string,
): Promise<Condition | undefined> {
  return decodeCondition((await guard(() => kv.get(condKey(target, key)))).value);
}

/** Every condition of `target` ever raised (normal ones too), by key. */
export async function listConditions(kv: KvLike, target: string): Promise<Condition[]> {
  const entries = await guard(() => Array.fromAsync(kv.list({ prefix: condPrefix(target) })));
  return entries.flatMap((e) => decodeCondition(e.value) ?? []);
}
