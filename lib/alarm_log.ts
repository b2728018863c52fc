/**
 * Where accepted alarms get their `seq`. The interface is what the publish path depends on; the
 * in-memory implementation here only counts, so alarms survive exactly as long as delivery.
 *
 * @module
 */
import { type Alarm, completeAlarm, type PreparedAlarm } from "./alarm.ts";

/** Assigns each alarm of a target the next `seq` and records it. */
export interface AlarmLog {
  /** Stamps `prepared` with `target` and the next seq of `target`, and records it. */
  append(target: string, prepared: PreparedAlarm): Promise<Alarm>;
}

/** An {@linkcode AlarmLog} that keeps only a counter per target, in memory. */
export class MemoryAlarmLog implements AlarmLog {
  readonly #seqs = new Map<string, number>();

  /** Assigns the next seq of `target` (from 1). */
  append(target: string, prepared: PreparedAlarm): Promise<Alarm> {
    const seq = (this.#seqs.get(target) ?? 0) + 1;
    this.#seqs.set(target, seq);
    return Promise.resolve(completeAlarm(prepared, target, seq));
  }
}
