/**
 * Conditions in KV: one record per (target, key) at `["cond", t, key]`, changed only in the
 * commit that appends the change's entry to the log (`appender.ts`), and read back here.
 *
 * @module
 */
import type { Condition, JsonObject } from "../core/mod.ts";
import type { KvLike } from "./call_timeout.ts";
import { guard } from "./guard.ts";
import { condKey, condPrefix } from "./schema.ts";

/**
 * Most characters of an alarm kept in its condition's record: a KV value holds 64 KiB, and the
 * log keeps the whole alarm anyway. A larger one is kept as its `id`, `createTime`, `seq`,
 * `target`, `key` and `level`, with `truncated: true`.
 */
const MAX_KEPT_ALARM = 20_000;

/** `condition` as stored: its alarm cut down when too large for one KV value. */
export function toStored(condition: Condition): Condition {
  const { alarm } = condition;
  if (JSON.stringify(alarm).length <= MAX_KEPT_ALARM) return condition;
  const kept: JsonObject = { truncated: true };
  for (const name of ["id", "createTime", "seq", "target", "key", "level"]) {
    if (Object.hasOwn(alarm, name)) kept[name] = alarm[name];
  }
  return { ...condition, alarm: kept };
}

/** Condition `key` of `target`, if it was ever raised. */
export async function readCondition(
  kv: KvLike,
  target: string,
  key: string,
): Promise<Condition | undefined> {
  // Written by the appender from a Condition: ours, not untrusted input.
  return (await guard(() => kv.get<Condition>(condKey(target, key)))).value ?? undefined;
}

/** Every condition of `target` ever raised (normal ones too), by key. */
export async function listConditions(kv: KvLike, target: string): Promise<Condition[]> {
  const entries = await guard(() =>
    Array.fromAsync(kv.list<Condition>({ prefix: condPrefix(target) }))
  );
  return entries.map((e) => e.value);
}
