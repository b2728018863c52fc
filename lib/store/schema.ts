/**
 * The KV layout: the only module that knows the keys. Per target: `["head", t]` (last seq),
 * `["alarm", t, seq, part, parts]` (the alarm's JSON, split in parts because a KV value holds at
 * most 64 KiB), `["idem", t, key]`, `["ack", t]`, `["cond", t, key]` (a condition's state),
 * `["listed", t]` (how many of them are in the active list; written with every change of that
 * number, missing for stores written before 0.8). The change feed, in `FEED_BUCKETS` buckets:
 * `["feed", b]` (last entry number) and `["feed", b, n]` (what changed). Per isolate:
 * `["presence", instance, "alive"]`, `["presence", instance, chunk]`, `["probe", instance]`.
 * Shared: `["arrival"]`. Escalation: `["policy", name]`, `["policies"]` (bumped on every policy
 * change, watched by every instance), and `["due", at, target, seq, policy, step, kind]`: what
 * must happen at epoch ms `at`, so every instance finds what is due with one range read. Likewise
 * `["shelf", until, t, key]`: when a shelving of condition `key` ends.
 *
 * @module
 */
import { type Alarm, fnv1a, knowFrames } from "../core/mod.ts";
import type { Retention } from "./alarm_log.ts";

/** Key of the last seq of `target`. */
export function headKey(target: string): Deno.KvKey {
  return ["head", target];
}

/** Key of the idempotency record of `key` for `target`. */
export function idemKey(target: string, key: string): Deno.KvKey {
  return ["idem", target, key];
}

/** Key of condition `key` of `target` (`core/condition.ts`). */
export function condKey(target: string, key: string): Deno.KvKey {
  return ["cond", target, key];
}

/** Key of how many conditions of `target` are in its active list. */
export function listedKey(target: string): Deno.KvKey {
  return ["listed", target];
}

/** Prefix of every condition of `target`. */
export function condPrefix(target: string): Deno.KvKey {
  return ["cond", target];
}

/** Key of the highest acknowledged seq of `target`. */
export function ackKey(target: string): Deno.KvKey {
  return ["ack", target];
}

/**
 * Buckets of the change feed. Every instance watches all of their heads in one `watch()` call
 * (KV takes up to 10 keys per call); more buckets mean fewer conflicts between writers of
 * different ids, not more streams.
 */
export const FEED_BUCKETS = 8;

/** The feed bucket of `target`. */
export function bucketOf(target: string): number {
  return fnv1a(target) % FEED_BUCKETS;
}

/** Key of the last entry number of feed bucket `bucket`. */
export function feedHeadKey(bucket: number): Deno.KvKey {
  return ["feed", bucket];
}

/** The head keys of every feed bucket, in bucket order. */
export const FEED_HEAD_KEYS: readonly Deno.KvKey[] = Array.from(
  { length: FEED_BUCKETS },
  (_, b) => feedHeadKey(b),
);

/** Key of entry `n` of feed bucket `bucket`. */
export function feedKey(bucket: number, n: number): Deno.KvKey {
  return ["feed", bucket, n];
}

/** Key of chunk `chunk` of the presence snapshot of `instance`. */
export function presenceKey(instance: string, chunk: number): Deno.KvKey {
  return ["presence", instance, chunk];
}

/** Key of the liveness record of `instance`'s presence. */
export function aliveKey(instance: string): Deno.KvKey {
  return ["presence", instance, "alive"];
}

/** Key an isolate writes to prove the store takes writes (`/healthz`). */
export function probeKey(instance: string): Deno.KvKey {
  return ["probe", instance];
}

/** Prefix of every presence snapshot. */
export const PRESENCE_PREFIX: Deno.KvKey = ["presence"];

/** Overwritten by each isolate as it starts, watched by those already running. */
export const ARRIVAL_KEY: Deno.KvKey = ["arrival"];

/** Key of escalation policy `name`. */
export function policyKey(name: string): Deno.KvKey {
  return ["policy", name];
}

/** Prefix of every escalation policy. */
export const POLICY_PREFIX: Deno.KvKey = ["policy"];

/** A counter bumped with every policy change: instances watch it to refresh their cache. */
export const POLICY_VERSION_KEY: Deno.KvKey = ["policies"];

/** Prefix of every escalation deadline and pending escalation. */
export const DUE_PREFIX: Deno.KvKey = ["due"];

/** Key of what is due at `at` for alarm (`target`, `seq`) under `policy`, step `step`. */
export function dueKey(
  at: number,
  target: string,
  seq: number,
  policy: string,
  step: number,
  kind: "deadline" | "fire",
): Deno.KvKey {
  return ["due", at, target, seq, policy, step, kind];
}

/** The key range of everything due at or before `at`. */
export function dueRange(at: number): { start: Deno.KvKey; end: Deno.KvKey } {
  return { start: DUE_PREFIX, end: ["due", at + 1] };
}

/** The key range of everything due after `at`. */
export function dueAfter(at: number): { start: Deno.KvKey; end: Deno.KvKey } {
  return { start: ["due", at + 1], end: ["due", Number.MAX_SAFE_INTEGER] };
}

/** Key of the end, at `until`, of a shelving of condition `key` of `target`. */
export function shelfKey(until: number, target: string, key: string): Deno.KvKey {
  return ["shelf", until, target, key];
}

/** The key range of the shelvings ending at or before `at`. */
export function shelfRange(at: number): { start: Deno.KvKey; end: Deno.KvKey } {
  return { start: ["shelf"], end: ["shelf", at + 1] };
}

/** The key range of the shelvings ending after `at`. */
export function shelfAfter(at: number): { start: Deno.KvKey; end: Deno.KvKey } {
  return { start: ["shelf", at + 1], end: ["shelf", Number.MAX_SAFE_INTEGER] };
}

/** The key range of `target`'s alarms with seq greater than `after`. */
export function alarmRange(target: string, after: number): { start: Deno.KvKey; end: Deno.KvKey } {
  // Infinity, not the largest seq: after it, `after + 1` would pass the end, and KV throws.
  return { start: ["alarm", target, after + 1], end: ["alarm", target, Infinity] };
}

/**
 * Bytes per part: under KV's 64 KiB value limit with room for the key. Two parts hold any alarm
 * `prepareAlarm` accepts (`MAX_ALARM_BYTES` plus `seq` and `target`), so deleting an alarm means
 * deleting its three possible layouts.
 */
const PART_BYTES = 60_000;

/**
 * Adds to `op` the writes of `alarm` (expiring after the retention age; `json`: its JSON, when
 * already made) and the deletion of the alarm that falls out of the retention count with it.
 */
export function writeAlarm(
  op: Deno.AtomicOperation,
  alarm: Alarm,
  retention: Retention,
  json = JSON.stringify(alarm),
): void {
  const { target, seq } = alarm;
  const bytes = new TextEncoder().encode(json);
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
  const json = new TextDecoder().decode(bytes);
  const alarm: Alarm = JSON.parse(json);
  // JSON.stringify wrote it: an alarm without a condition is framed as it was stored.
  if (alarm.condition === undefined && alarm.transition === undefined) {
    knowFrames(alarm, { seq: alarm.seq, alarm: json });
  }
  return alarm;
}
