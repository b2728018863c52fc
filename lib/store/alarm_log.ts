/**
 * The contract of an alarm log, which every backend (`kv_log.ts`, `memory_log.ts`) fulfils: seqs
 * per target from 1 with no gap, count and age retention, idempotency keys.
 *
 * @module
 */
import type { Alarm, Condition, ConditionSpec, PreparedAlarm } from "../core/mod.ts";

/** How long and how many alarms a target's log keeps. */
export interface Retention {
  /** Alarms kept per target; older ones are deleted as new ones arrive. */
  count: number;
  /** Milliseconds an alarm (and its idempotency record) is kept at least. */
  ageMs: number;
  /**
   * Conditions an id's active list may hold (default `DEFAULT_MAX_CONDITIONS`): the raise of one
   * more is refused with `too_many_conditions`.
   */
  conditions?: number;
}

/**
 * The outcome of an append: the stored alarm (with the condition it changed, if it had one);
 * or, when the idempotency key was used before, the original alarm's `id` and `seq` (nothing was
 * stored, nothing is to be delivered).
 */
export type Appended =
  | { duplicate: false; alarm: Alarm; condition?: Condition }
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
   * it the escalation deadline `due` if given. With `condition`, the entry changes that condition
   * in the same commit (a raise, or an operator's or publisher's action); one its state doesn't
   * allow fails with `Conflict` (`NotFound` for a key never raised) and stores nothing. A raise
   * that repeats an active condition starts no new deadline. The stored entry carries the
   * condition as it became (`condition`), without its alarm.
   */
  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
    condition?: ConditionSpec,
  ): Promise<Appended>;
  /** Condition `key` of `target`, if it was ever raised. */
  condition(target: string, key: string): Promise<Condition | undefined>;
  /** Every condition of `target` ever raised. */
  conditions(target: string): Promise<Condition[]>;
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
