/**
 * The alarm log on Deno KV, shared by every isolate that opens the same database: per target a
 * head key holding the last seq, and the alarms as `schema.ts` lays them out. Appends go through
 * the group-commit {@linkcode Appender}.
 *
 * @module
 */
import type { Alarm, Condition, ConditionSpec, PreparedAlarm } from "../core/mod.ts";
import type { AlarmLog, Appended, DueSpec, Retention } from "./alarm_log.ts";
import { Appender, type CommitLimits } from "./appender.ts";
import type { KvLike } from "./call_timeout.ts";
import { listConditions, readCondition } from "./conditions.ts";
import { guard } from "./guard.ts";
import { alarmRange, headKey, joinAlarms } from "./schema.ts";

/** Alarm logs of every target, in one KV database. */
export class KvLog implements AlarmLog {
  readonly #kv: KvLike;
  readonly #appender: Appender;

  /**
   * `timeoutMs`: how long an append may take, queued and committing; `limits`: what the database
   * takes per atomic operation.
   */
  constructor(
    kv: KvLike,
    retention: Retention,
    timeoutMs: number,
    limits?: Partial<CommitLimits>,
  ) {
    this.#kv = kv;
    this.#appender = new Appender(kv, retention, timeoutMs, limits);
  }

  /** Like {@linkcode AlarmLog.append}: the deadline and the condition in the same commit. */
  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
    condition?: ConditionSpec,
  ): Promise<Appended> {
    return this.#appender.append(target, prepared, idempotencyKey, due, condition);
  }

  condition(target: string, key: string): Promise<Condition | undefined> {
    return readCondition(this.#kv, target, key);
  }

  conditions(target: string): Promise<Condition[]> {
    return listConditions(this.#kv, target);
  }

  async read(target: string, after: number, limit: number): Promise<Alarm[]> {
    // Everything inside the guard: a retried attempt starts over.
    return await guard(() =>
      joinAlarms(
        this.#kv.list<Uint8Array>(alarmRange(target, after), { limit: limit * 2 }),
        limit,
      )
    );
  }

  /** Commits check `arrival` instead of appending to the feed, until it moves (see `Appender`). */
  fence(arrival: Deno.KvEntry<string> | undefined): void {
    this.#appender.fence(arrival);
  }

  async head(target: string): Promise<number> {
    return (await guard(() => this.#kv.get<number>(headKey(target)))).value ?? 0;
  }
}
