// @ts-check
/**
 * Alarm floods, as ISA-18.2 counts them: more than {@linkcode FLOOD_LIMIT} alarms within
 * {@linkcode FLOOD_WINDOW_MS} on one id, more than an operator can handle. Computed in the page
 * from the alarms it received (raises, keyed or not; acknowledgements and shelvings are not
 * alarms), each at its `createTime`, so alarms replayed on connect count when they happened.
 *
 * @module
 */

/** More alarms than this within the window is a flood. */
export const FLOOD_LIMIT = 10;
/** The window alarms are counted in: ten minutes. */
export const FLOOD_WINDOW_MS = 10 * 60_000;

/** Counts each id's alarms of the last ten minutes. */
export class FloodWatch {
  /** Alarm times per id, in epoch ms. @type {Map<string, number[]>} */
  #times = new Map();

  /** Counts an alarm of `id` at epoch ms `time`. @param {string} id @param {number} time */
  record(id, time) {
    const times = this.#times.get(id);
    if (times) times.push(time);
    else this.#times.set(id, [time]);
  }

  /**
   * The ids flooded at `now`, with how many alarms they had in the window, by id.
   * @param {number} now @returns {{ id: string, count: number }[]}
   */
  floods(now) {
    const since = now - FLOOD_WINDOW_MS;
    /** @type {{ id: string, count: number }[]} */
    const flooded = [];
    for (const [id, times] of this.#times) {
      // Alarms that left the window never come back into it: forget them.
      const recent = times.filter((time) => time > since);
      if (recent.length === 0) this.#times.delete(id);
      else this.#times.set(id, recent);
      if (recent.length > FLOOD_LIMIT) flooded.push({ id, count: recent.length });
    }
    return flooded.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /** Forgets `id`'s alarms (its log is read again). @param {string} id */
  forget(id) {
    this.#times.delete(id);
  }

  /** Forgets every id (the console connected anew). */
  clear() {
    this.#times.clear();
  }
}
