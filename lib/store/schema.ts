/**
 * The KV layout: the only module that knows the keys. Per target: `["head", t]` (last seq),
 * `["alarm", t, seq, part, parts]` (the alarm's JSON, split in parts because a KV value holds at
 * most 64 KiB), `["idem", t, key]`, `["ack", t]`, `["mhead", t]` and `["msg", t, seq]` (relayed
 * messages). Per isolate: `["presence", instance, chunk]`. Shared: `["arrival"]`.
 *
 * @module
 */
import type { Alarm } from "../core/mod.ts";
import type { Retention } from "./alarm_log.ts";

/** Key of the last seq of `target`; watched for cross-isolate fan-out. */
export function headKey(target: string): Deno.KvKey {
  return ["head", target];
}

/** Key of the idempotency record of `key` for `target`. */
export function idemKey(target: string, key: string): Deno.KvKey {
  return ["idem", target, key];
}

/** Key of the highest acknowledged seq of `target`. */
export function ackKey(target: string): Deno.KvKey {
  return ["ack", target];
}

/** Key of the last message seq of `target`; watched next to the alarm head. */
export function messageHeadKey(target: string): Deno.KvKey {
  return ["mhead", target];
}

/** Key of message `seq` of `target`. */
export function messageKey(target: string, seq: number): Deno.KvKey {
  return ["msg", target, seq];
}

/** Key of chunk `chunk` of the presence snapshot of `instance`. */
export function presenceKey(instance: string, chunk: number): Deno.KvKey {
  return ["presence", instance, chunk];
}

/** Prefix of every presence snapshot. */
export const PRESENCE_PREFIX: Deno.KvKey = ["presence"];

/** Overwritten by each isolate as it starts, watched by those already running. */
export const ARRIVAL_KEY: Deno.KvKey = ["arrival"];

/** The key range of `target`'s alarms with seq greater than `after`. */
export function alarmRange(target: string, after: number): { start: Deno.KvKey; end: Deno.KvKey } {
  return { start: ["alarm", target, after + 1], end: ["alarm", target, Number.MAX_SAFE_INTEGER] };
}

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

/**
 * Joins the entries of an alarm range into alarms, at most `limit`: an alarm is complete once
 * all of its parts are seen, in order.
 */
export async function joinAlarms(
  entries: AsyncIterable<Deno.KvEntry<Uint8Array>>,
  limit: number,
): Promise<Alarm[]> {
  const alarms: Alarm[] = [];
  let pending: Uint8Array[] = [];
  for await (const { key, value } of entries) {
    const [, , , part, parts] = key;
    if (part === 0) pending = [];
    pending.push(value);
    if (typeof parts === "number" && pending.length === parts) {
      alarms.push(joinAlarm(pending));
      if (alarms.length === limit) break;
    }
  }
  return alarms;
}

/** The alarm whose parts, in order, are `parts`. */
function joinAlarm(parts: Uint8Array[]): Alarm {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  // Written by writeAlarm() from an Alarm; the store is ours, not untrusted input.
  return JSON.parse(new TextDecoder().decode(bytes));
}
