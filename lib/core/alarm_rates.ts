/**
 * Alarm system performance (ISA-18.2 / IEC 62682, EEMUA 191): floods, chattering, stale and
 * shelved conditions, the most frequent ones. Pure: computed from raise times and conditions,
 * whoever keeps them (the store's log for one id, or this instance's own publishes).
 *
 * @module
 */
import { type Condition, isChattering, isShelved, isStale } from "./condition.ts";

/** The window a flood is counted over, and how many alarms in it make one. */
export const FLOOD_WINDOW_MS = 10 * 60_000;
/** More than this many alarms within {@linkcode FLOOD_WINDOW_MS}: a flood. */
export const FLOOD_ALARMS = 10;
/** An id's latest alarms its rate is counted over: enough to see any flood. */
export const RATE_SAMPLE = 200;
/** Conditions listed as the most frequent, at most. */
const FREQUENT = 10;

/** How an id's alarm system is doing. */
export interface AlarmPerformance {
  windowMs: number;
  /** Alarms (raises, keyed or not) within the window. */
  alarms: number;
  /** More than {@linkcode FLOOD_ALARMS} of them. */
  flood: boolean;
  /** Keys raised 3 or more times within a minute. */
  chattering: string[];
  /** Keys active for more than 24 hours. */
  stale: string[];
  /** Conditions shelved now. */
  shelved: number;
  /** The conditions raised most often in their current episode, most first. */
  frequent: { key: string; count: number }[];
}

/** Measures from the times of recent raises (epoch ms) and the id's conditions, at `now`. */
export function measurePerformance(
  raisedAt: readonly number[],
  conditions: readonly Condition[],
  now: number,
): AlarmPerformance {
  const alarms = raisedAt.filter((t) => now - t < FLOOD_WINDOW_MS && t <= now).length;
  const keys = (test: (c: Condition) => boolean) =>
    conditions.filter(test).map((c) => c.key).sort();
  return {
    windowMs: FLOOD_WINDOW_MS,
    alarms,
    flood: alarms > FLOOD_ALARMS,
    chattering: keys((c) => isChattering(c, now)),
    stale: keys((c) => isStale(c, now)),
    shelved: conditions.filter((c) => isShelved(c, now)).length,
    frequent: conditions.filter((c) => c.state !== "normal")
      .toSorted((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, FREQUENT).map(({ key, count }) => ({ key, count })),
  };
}

/** An alarm's `createTime` as epoch ms (ISO-8601 or epoch ms), or `undefined`. */
export function timeOf(createTime: unknown): number | undefined {
  if (typeof createTime === "number") return createTime;
  if (typeof createTime !== "string") return undefined;
  const t = Date.parse(createTime.replace(" ", "T"));
  return Number.isNaN(t) ? undefined : t;
}
