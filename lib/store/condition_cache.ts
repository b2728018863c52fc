/**
 * Condition records as this isolate's own last commits left them, by id and key, so a raise of a
 * condition this isolate raised before needs no read. A cached record is used only while the id's
 * head is too (`appender.ts`): anyone else's change of it came with an entry of the id, so the
 * head check fails and everything is read again; once an id's head had to be read, its cached
 * records are forgotten.
 *
 * @module
 */
import type { Condition } from "../core/mod.ts";

/** Cached condition records, at most `limit` of them (whole ids forgotten, oldest first). */
export class ConditionCache {
  readonly #byId = new Map<string, Map<string, Condition>>();
  readonly #limit: number;
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The record of `key` of `id`, if cached. */
  get(id: string, key: string): Condition | undefined {
    return this.#byId.get(id)?.get(key);
  }

  /** Remembers the record of `key` of `id` as just committed. */
  set(id: string, key: string, condition: Condition): void {
    let records = this.#byId.get(id);
    if (!records) this.#byId.set(id, records = new Map());
    if (!records.has(key)) this.#size++;
    records.set(key, condition);
    while (this.#size > this.#limit) this.forget(this.#byId.keys().next().value!);
  }

  /** Forgets every record of `id`. */
  forget(id: string): void {
    this.#size -= this.#byId.get(id)?.size ?? 0;
    this.#byId.delete(id);
  }
}
