/**
 * The alarm log in this isolate's memory, for `KV_PATH=:memory:`. An in-memory KV database is
 * private to its isolate and gone on restart anyway, so keeping the log in plain arrays changes
 * nothing a client can see, and spares every publish a SQLite transaction. Same contract as the
 * KV log: seqs per target from 1 with no gap, count and age retention, idempotency keys.
 *
 * @module
 */
import {
  type Alarm,
  applyChange,
  completeAlarm,
  type Condition,
  type ConditionSpec,
  conditionView,
  DEFAULT_MAX_CONDITIONS,
  keptAlarm,
  listDelta,
  type PreparedAlarm,
  raisedAlarm,
  refusalError,
  tooManyConditions,
} from "../core/mod.ts";
import type { AlarmLog, Appended, DueSpec, Retention } from "./alarm_log.ts";

/**
 * Idempotency keys remembered at most: in memory, a week of keyed publishes could outgrow the
 * process, so the oldest keys go first past this many (KV keeps them for the whole age).
 */
export const MAX_IDEMPOTENCY_KEYS = 100_000;

interface TargetLog {
  /** Last seq given out. */
  seq: number;
  /** Retained alarms from index `start` on, with consecutive seqs. */
  alarms: Alarm[];
  /** When each alarm was stored (same index). */
  storedAt: number[];
  start: number;
  /** Conditions by key. */
  conditions: Map<string, Condition>;
  /** Keys of the conditions back to normal, by when, oldest first: forgotten after retention. */
  normal: Map<string, number>;
}

interface IdempotencyRecord {
  id: string | number;
  seq: number;
  expiresAt: number;
}

/** What the memory log keeps in KV too: what every isolate's timers read there. */
export interface KvSide {
  /** Stores an escalation deadline of `alarm` (raising condition `key`, if given). */
  deadline(alarm: Alarm, due: DueSpec, key?: string): Promise<void>;
  /** Stores when a shelving of condition `key` of `target` ends. */
  shelvingEnd(target: string, key: string, until: number): Promise<void>;
  /** Stores a condition as it is now, for escalation to check its state. */
  condition(condition: Condition): Promise<void>;
}

/** Alarm logs of every target, in memory. */
export class MemoryLog implements AlarmLog {
  readonly #retention: Retention;
  readonly #now: () => number;
  readonly #targets = new Map<string, TargetLog>();
  /** Insertion order is expiry order: every record lives `retention.ageMs`. */
  readonly #idempotency = new Map<string, IdempotencyRecord>();

  readonly #kv: KvSide;

  /**
   * `kv` stores what the timers of every isolate read in the KV store (deadlines, the ends of
   * shelvings, and the conditions escalation checks), after each change: this log is the
   * isolate's alone and gone on restart, so two writes lose nothing one would keep.
   */
  constructor(retention: Retention, kv: KvSide, now: () => number = Date.now) {
    this.#retention = retention;
    this.#kv = kv;
    this.#now = now;
  }

  /** How many ids have a log here: each had something appended. */
  get ids(): number {
    return this.#targets.size;
  }

  /** No other isolate reads this log, so there is no change feed to fence. */
  fence(): void {}

  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
    condition?: ConditionSpec,
  ): Promise<Appended> {
    let result: { appended: Appended; repeat: boolean };
    try {
      result = this.#append(target, prepared, idempotencyKey, condition);
    } catch (error) {
      return Promise.reject(error);
    }
    const { appended, repeat } = result;
    if (appended.duplicate) return Promise.resolve(appended);
    // Queued in order: the condition before its deadline or its shelving's end.
    const writes: Promise<void>[] = [];
    if (appended.condition) writes.push(this.#kv.condition(appended.condition));
    if (condition?.change.action === "shelve") {
      writes.push(this.#kv.shelvingEnd(target, condition.key, condition.change.until));
    }
    if (due && !repeat) writes.push(this.#kv.deadline(appended.alarm, due, condition?.key));
    // Operators' changes and what timers will read (a deadline, a shelving's end) are written
    // before the answer; a raise's copy of its condition (active either way, so escalation's
    // checks can't tell) follows without holding publishing up.
    if (condition?.change.action === "raise" && writes.length === 1) {
      writes[0]!.catch(() => {});
      return Promise.resolve(appended);
    }
    return Promise.all(writes).then(() => appended);
  }

  condition(target: string, key: string): Promise<Condition | undefined> {
    return Promise.resolve(this.#trimmed(target)?.conditions.get(key));
  }

  conditions(target: string): Promise<Condition[]> {
    return Promise.resolve([...this.#trimmed(target)?.conditions.values() ?? []]);
  }

  // The log of `target` as retention leaves it now.
  #trimmed(target: string): TargetLog | undefined {
    const log = this.#targets.get(target);
    if (log) this.#trim(log, this.#now());
    return log;
  }

  // Appends synchronously (a change and its entry land together); `repeat`: a raise of a
  // condition already active, which starts no new deadline.
  #append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey: string | undefined,
    change: ConditionSpec | undefined,
  ): { appended: Appended; repeat: boolean } {
    const now = this.#now();
    this.#expireKeys(now);
    const key = idempotencyKey === undefined ? undefined : `${target}\n${idempotencyKey}`;
    const seen = key === undefined ? undefined : this.#idempotency.get(key);
    if (seen) {
      return { appended: { duplicate: true, id: seen.id, seq: seen.seq }, repeat: false };
    }
    // A new id's log is kept only once something is appended to it: a refused change leaves
    // nothing behind.
    const log: TargetLog = this.#targets.get(target) ?? {
      seq: 0,
      alarms: [],
      storedAt: [],
      start: 0,
      conditions: new Map(),
      normal: new Map(),
    };
    this.#trim(log, now); // what retention dropped is not acted on
    let alarm = completeAlarm(prepared, target, log.seq + 1);
    let condition: Condition | undefined;
    let repeat = false;
    if (change) {
      const before = log.conditions.get(change.key);
      const raise = change.change.action === "raise";
      if (raise) alarm = raisedAlarm(alarm, before);
      const out = applyChange(before, change.change, change.at, target, change.key, alarm.seq);
      if (!out.ok) throw refusalError(out.refusal, before !== undefined);
      const max = this.#retention.conditions ?? DEFAULT_MAX_CONDITIONS;
      if (listDelta(before, out.condition) > 0 && log.conditions.size - log.normal.size >= max) {
        throw tooManyConditions(target, max);
      }
      repeat = raise && before !== undefined && before.state !== "normal";
      // What a record in KV keeps, kept here too: both stores answer alike.
      condition = raise
        ? { ...out.condition, alarm: keptAlarm(alarm, JSON.stringify(alarm).length) }
        : out.condition;
      log.conditions.set(change.key, condition);
      log.normal.delete(change.key); // re-inserted last: the most recently back to normal
      if (condition.state === "normal") log.normal.set(change.key, now);
      alarm = { ...alarm, condition: conditionView(condition) };
    }
    this.#targets.set(target, log);
    log.seq++;
    log.alarms.push(alarm);
    log.storedAt.push(now);
    if (log.alarms.length - log.start > this.#retention.count) log.start++;
    this.#trim(log, now);
    if (key !== undefined) {
      this.#idempotency.set(key, {
        id: alarm.id,
        seq: alarm.seq,
        expiresAt: now + this.#retention.ageMs,
      });
    }
    const appended: Appended = condition
      ? { duplicate: false, alarm, condition }
      : { duplicate: false, alarm };
    return { appended, repeat };
  }

  read(target: string, after: number, limit: number): Promise<Alarm[]> {
    const log = this.#trimmed(target);
    if (!log) return Promise.resolve([]);
    const first = log.alarms[log.start]?.seq ?? log.seq + 1;
    const from = log.start + Math.max(0, after + 1 - first);
    return Promise.resolve(log.alarms.slice(from, from + limit));
  }

  head(target: string): Promise<number> {
    return Promise.resolve(this.#targets.get(target)?.seq ?? 0);
  }

  // Drops alarms older than the retention age, and compacts once half the array is dropped.
  #trim(log: TargetLog, now: number): void {
    const oldest = now - this.#retention.ageMs;
    // As KV expires their records: back to normal longer than retention, forgotten.
    for (const [key, at] of log.normal) {
      if (at >= oldest) break;
      log.normal.delete(key);
      log.conditions.delete(key);
    }
    while (log.start < log.alarms.length && log.storedAt[log.start]! < oldest) log.start++;
    const all = log.start === log.alarms.length;
    if (all || (log.start > 64 && log.start * 2 > log.alarms.length)) {
      log.alarms = log.alarms.slice(log.start);
      log.storedAt = log.storedAt.slice(log.start);
      log.start = 0;
    }
  }

  #expireKeys(now: number): void {
    for (const [key, record] of this.#idempotency) {
      if (record.expiresAt > now && this.#idempotency.size < MAX_IDEMPOTENCY_KEYS) break;
      this.#idempotency.delete(key);
    }
  }
}
