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

/** Most bytes (as JSON) of an alarm a condition's record keeps: a KV value holds 64 KiB. */
export const MAX_KEPT_ALARM = 20_000;

/**
 * The alarm a condition's record keeps of its latest raise (`bytes`: at least its size as JSON):
 * the alarm, or when larger than {@linkcode MAX_KEPT_ALARM} its `id`, `createTime`, `seq`,
 * `target`, `key` and `level` with `truncated: true`.
 */
export function keptAlarm(alarm: JsonObject, bytes: number): JsonObject {
  if (bytes <= MAX_KEPT_ALARM) return alarm;
  const kept: JsonObject = { truncated: true };
  for (const name of ["id", "createTime", "seq", "target", "key", "level"]) {
    if (Object.hasOwn(alarm, name)) kept[name] = alarm[name];
  }
  return kept;
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
