/**
 * How an alarm is laid out in KV: its JSON under `["alarm", target, seq, part, parts]`, split
 * into parts because a KV value holds at most 64 KiB, and joined again on read.
 *
 * @module
 */
import type { Alarm } from "./alarm.ts";
import type { Retention } from "./appender.ts";

/** Bytes per part: under KV's 64 KiB value limit with room for the key. */
const PART_BYTES = 60_000;

/**
 * Adds to `op` the writes of `alarm` (expiring after the retention age) and the deletion of the
 * alarm that falls out of the retention count with it.
 */
export function writeAlarm(op: Deno.AtomicOperation, alarm: Alarm, retention: Retention): void {
  const { target, seq } = alarm;
  const bytes = new TextEncoder().encode(JSON.stringify(alarm));
  const parts = Math.max(1, Math.ceil(bytes.length / PART_BYTES));
  for (let part = 0; part < parts; part++) {
    const chunk = bytes.subarray(part * PART_BYTES, (part + 1) * PART_BYTES);
    op.set(["alarm", target, seq, part, parts], chunk, { expireIn: retention.ageMs });
  }
  const dropped = seq - retention.count;
  // Every part layout the dropped alarm may have (body limit: at most 2 parts).
  if (dropped >= 1) {
    for (const key of [[0, 1], [0, 2], [1, 2]]) op.delete(["alarm", target, dropped, ...key]);
  }
}

/** The alarm whose parts, in order, are `parts`. */
export function joinAlarm(parts: Uint8Array[]): Alarm {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  // Written by writeAlarm() from an Alarm; the store is ours, not untrusted input.
  return JSON.parse(new TextDecoder().decode(bytes));
}
