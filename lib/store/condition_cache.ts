/**
 * Condition records as this isolate's own last commits left them, by id and key, so a raise of a
 * condition this isolate raised before needs no read. A cached record is used only while the id's
 * head is too (`appender.ts`): anyone else's change of it came with an entry of the id, so the
 * head check fails and everything is read again; once an id's head had to be read, its cached
 * records are forgotten. An id whose records were all read at once (`fill`) is complete: a key
 * missing from it was never raised, and its first raise needs no read either. Bounded by bytes
 * (a record holds its latest alarm; an id, even one with no record, counts `ID_BYTES`): whole ids
 * are forgotten, least recently written first.
 *
 * @module
 */
import type { Condition } from "../core/mod.ts";

/** What an id takes besides its records: ids found with none are counted too. */
const ID_BYTES = 256;

/** Cached condition records, at most `maxBytes` of them (as their alarms' sizes say). */
export class ConditionCache {
  readonly #byId = new Map<string, Map<string, { condition: Condition; bytes: number }>>();
  /** Ids whose every record is here. */
  readonly #complete = new Set<string>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The record of `key` of `id` if cached; `null` if the id is complete without it. */
  get(id: string, key: string): Condition | null | undefined {
    const cached = this.#byId.get(id)?.get(key)?.condition;
    return cached ?? (this.#complete.has(id) ? null : undefined);
  }

  /** Replaces what is cached of `id` with all of its records, as read at once. */
  fill(id: string, records: readonly Condition[]): void {
    this.forget(id);
    this.#touch(id);
    for (const c of records) this.set(id, c.key, c, JSON.stringify(c.alarm).length + 512);
    this.#evict();
    if (this.#byId.has(id)) this.#complete.add(id);
  }

  /** Remembers the record of `key` of `id` as just committed, about `bytes` large. */
  set(id: string, key: string, condition: Condition, bytes: number): void {
    const records = this.#touch(id);
    this.#bytes += bytes - (records.get(key)?.bytes ?? 0);
    records.set(key, { condition, bytes });
    this.#evict();
  }

  /** Forgets every record of `id`. */
  forget(id: string): void {
    const records = this.#byId.get(id);
    if (!records) return;
    for (const { bytes } of records.values()) this.#bytes -= bytes;
    this.#bytes -= ID_BYTES;
    this.#byId.delete(id);
    this.#complete.delete(id);
  }

  // The records of `id`, moved last (the most recently written); added if new.
  #touch(id: string): Map<string, { condition: Condition; bytes: number }> {
    let records = this.#byId.get(id);
    if (records) this.#byId.delete(id);
    else {
      records = new Map();
      this.#bytes += ID_BYTES;
    }
    this.#byId.set(id, records);
    return records;
  }

  #evict(): void {
    while (this.#bytes > this.#maxBytes && this.#byId.size > 1) {
      this.forget(this.#byId.keys().next().value!);
    }
  }
}
