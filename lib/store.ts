/**
 * The alarm store: the log of every target (on Deno KV, or in memory when the KV database is
 * `:memory:` anyway), plus the highest acknowledged seq per target, which is always in KV.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "./alarm.ts";
import type { Appended, Retention } from "./appender.ts";
import { KvLog } from "./kv_log.ts";
import { guard } from "./kv_util.ts";
import { MemoryLog } from "./memory_log.ts";

export type { Appended, Retention } from "./appender.ts";
export { guard, headKey, StoreError } from "./kv_util.ts";

/** Options of {@linkcode AlarmStore}. */
export interface StoreOptions {
  /**
   * Where the log lives: `"kv"` (default; shared by every isolate on the same database) or
   * `"memory"` (this isolate only, gone on restart: what a `:memory:` KV database gives anyway).
   */
  log?: "kv" | "memory";
  /** Clock for age retention of the memory log, injectable for tests. */
  now?: () => number;
}

/** The alarm log of every target. */
export class AlarmStore {
  /** The KV database: acknowledgements, relayed messages and presence live here. */
  readonly kv: Deno.Kv;
  readonly #log: KvLog | MemoryLog;

  constructor(kv: Deno.Kv, retention: Retention, options: StoreOptions = {}) {
    this.kv = kv;
    this.#log = options.log === "memory"
      ? new MemoryLog(retention, options.now)
      : new KvLog(kv, retention);
  }

  /**
   * Stores `prepared` as the next alarm of `target`. With an idempotency key already used for
   * this target within retention, returns the original alarm and stores nothing.
   */
  append(target: string, prepared: PreparedAlarm, idempotencyKey?: string): Promise<Appended> {
    return this.#log.append(target, prepared, idempotencyKey);
  }

  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]> {
    return this.#log.read(target, after, limit);
  }

  /** The last seq of `target` (0 before its first alarm). */
  head(target: string): Promise<number> {
    return this.#log.head(target);
  }

  /** Records that `target`'s clients acknowledged everything up to `seq`. */
  async ack(target: string, seq: number): Promise<void> {
    await guard(() => this.kv.atomic().max(["ack", target], BigInt(seq)).commit());
  }

  /** The highest seq acknowledged for `target` (0 if none). */
  async acked(target: string): Promise<number> {
    const entry = await guard(() => this.kv.get<Deno.KvU64>(["ack", target]));
    return entry.value ? Number(entry.value.value) : 0;
  }
}
