/**
 * Condition records as this isolate's own last commits left them, by id and key, so a raise of a
 * condition this isolate raised before needs no read. A cached record is used only while the id's
 * head is too (`appender.ts`): anyone else's change of it came with an entry of the id, so the
 * head check fails and everything is read again; once an id's head had to be read, its cached
 * records are forgotten. Bounded by bytes (a record holds its latest alarm): whole ids are
 * forgotten, least recently written first.
 *
 * @module
 */
import type { Condition } from "../core/mod.ts";

/** Cached condition records, at most `maxBytes` of them (as their alarms' sizes say). */
export class ConditionCache {
  readonly #byId = new Map<string, Map<string, { condition: Condition; bytes: number }>>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The record of `key` of `id`, if cached. */
  get(id: string, key: string): Condition | undefined {
    return this.#byId.get(id)?.get(key)?.condition;
  }

  /** Remembers the record of `key` of `id` as just committed, about `bytes` large. */
  set(id: string, key: string, condition: Condition, bytes: number): void {
    let records = this.#byId.get(id);
    if (records) this.#byId.delete(id); // re-inserted last: the most recently written
    else records = new Map();
    this.#byId.set(id, records);
    this.#bytes += bytes - (records.get(key)?.bytes ?? 0);
    records.set(key, { condition, bytes });
    while (this.#bytes > this.#maxBytes && this.#byId.size > 1) {
      this.forget(this.#byId.keys().next().value!);
    }
  }

  /** Forgets every record of `id`. */
  forget(id: string): void {
    for (const { bytes } of this.#byId.get(id)?.values() ?? []) this.#bytes -= bytes;
    this.#byId.delete(id);
  }
}
