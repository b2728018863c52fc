/**
 * What this isolate published lately, for the alarm-rate gauges of `/metrics`: per id the times
 * of its last raises (up to `RATE_SAMPLE`, as `Hub.performance` counts; a flood is more than 10
 * within 10 minutes), per condition its last three (chattering: three within a minute). Only
 * this isolate's publishes: the figures of an id whoever published come from its log.
 *
 * @module
 */
import {
  CHATTER_RAISES,
  CHATTER_WINDOW_MS,
  FLOOD_ALARMS,
  FLOOD_WINDOW_MS,
  RATE_SAMPLE,
} from "../core/mod.ts";

/** Raises between two sweeps of the ids that went quiet. */
const SWEEP_EVERY = 10_000;

/** One id's rates as this isolate saw them. */
export interface IdRates {
  id: string;
  /** Alarms published here in the last 10 minutes (counted up to `RATE_SAMPLE`). */
  alarms: number;
  /** Its conditions raised here 3 or more times within a minute. */
  chattering: number;
}

/** Recent raise times per id and per condition, bounded by the windows. */
export class RecentRaises {
  readonly #byId = new Map<string, number[]>();
  /** By id, then key: no key of both to build and hash per raise. */
  readonly #byCondition = new Map<string, Map<string, number[]>>();
  /** Raises since stale ids were last forgotten (a scrape forgets them too). */
  #sinceSweep = 0;

  /** Notes a raise of `id` (of condition `key`, if it has one) at `at`. */
  raised(id: string, key: string | undefined, at: number): void {
    // Without scrapes, ids that went quiet are still forgotten now and then.
    if (++this.#sinceSweep >= SWEEP_EVERY) {
      this.#sinceSweep = 0;
      this.floods(at);
      this.chattering(at);
    }
    push(this.#byId, id, at, RATE_SAMPLE);
    if (key === undefined) return;
    let keys = this.#byCondition.get(id);
    if (keys === undefined) this.#byCondition.set(id, keys = new Map());
    push(keys, key, at, CHATTER_RAISES);
  }

  /** Ids with more than 10 raises in the last 10 minutes (old entries are forgotten here). */
  floods(now: number): number {
    return count(this.#byId, FLOOD_ALARMS + 1, FLOOD_WINDOW_MS, now);
  }

  /** The `limit` ids with the most raises here in the last 10 minutes, most first. */
  busiest(now: number, limit: number): IdRates[] {
    const rates: IdRates[] = [];
    for (const [id, times] of this.#byId) {
      let alarms = 0;
      for (let i = times.length - 1; i >= 0 && now - times[i]! < FLOOD_WINDOW_MS; i--) alarms++;
      if (alarms === 0) continue;
      const keys = this.#byCondition.get(id);
      const chattering = keys ? count(keys, CHATTER_RAISES, CHATTER_WINDOW_MS, now) : 0;
      rates.push({ id, alarms, chattering });
    }
    return rates.sort((a, b) => b.alarms - a.alarms || (a.id < b.id ? -1 : 1)).slice(0, limit);
  }

  /** Conditions raised 3 times within a minute, the last time within the last minute. */
  chattering(now: number): number {
    let n = 0;
    for (const [id, keys] of this.#byCondition) {
      n += count(keys, CHATTER_RAISES, CHATTER_WINDOW_MS, now);
      if (keys.size === 0) this.#byCondition.delete(id);
    }
    return n;
  }
}

function push(map: Map<string, number[]>, key: string, at: number, keep: number): void {
  const times = map.get(key);
  if (times === undefined) {
    map.set(key, [at]);
    return;
  }
  times.push(at);
  if (times.length > keep) times.shift();
}

// Entries whose `needed` latest times all fall within `window` of `now`; forgets the stale.
function count(map: Map<string, number[]>, needed: number, window: number, now: number): number {
  let n = 0;
  for (const [key, times] of map) {
    if (now - times.at(-1)! >= window) map.delete(key);
    else if (times.length >= needed && now - times[times.length - needed]! < window) n++;
  }
  return n;
}
