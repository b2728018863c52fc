/**
 * The contract of an alarm log, which every backend (`kv_log.ts`, `memory_log.ts`) fulfils: seqs
 * per target from 1 with no gap, count and age retention, idempotency keys.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "../core/mod.ts";

/** How long and how many alarms a target's log keeps. */
export interface Retention {
  /** Alarms kept per target; older ones are deleted as new ones arrive. */
  count: number;
  /** Milliseconds an alarm (and its idempotency record) is kept at least. */
  ageMs: number;
}

/**
 * The outcome of an append: the stored alarm, or, when the idempotency key was used before,
 * the original alarm's `id` and `seq` (nothing was stored, nothing is to be delivered).
 */
export type Appended =
  | { duplicate: false; alarm: Alarm }
  | { duplicate: true; id: string | number; seq: number };

/** What a publish asks for: an escalation deadline at epoch ms `at` under `policy`. */
export interface DueSpec {
  at: number;
  policy: string;
}

/** The alarm logs of every target. */
export interface AlarmLog {
  /**
   * Stores `prepared` as the next alarm of `target`, unless `idempotencyKey` was used, and with
   * it the escalation deadline `due` if given.
   */
  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
  ): Promise<Appended>;
  /**
   * While alone on the store, `arrival` (the arrival record as this isolate left it) is checked
   * instead of writing the change feed; `undefined`: write the feed. A log no other isolate
   * reads ignores it.
   */
  fence(arrival: Deno.KvEntry<string> | undefined): void;
  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]>;
  /** The last seq of `target` (0 before its first alarm). */
  head(target: string): Promise<number>;
}
