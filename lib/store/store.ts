/**
 * The store facade: everything the rest of the service keeps in Deno KV goes through its
 * methods. The alarm log of every target (on KV, or in memory when the KV database is `:memory:`
 * anyway), acknowledgements, relayed messages, presence snapshots, and the watches other
 * isolates' writes are noticed by.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "../core/mod.ts";
import type { AlarmLog, Appended, Retention } from "./alarm_log.ts";
import { guard } from "./guard.ts";
import { KvLog } from "./kv_log.ts";
import { MemoryLog } from "./memory_log.ts";
import { appendMessage, messageHead, readMessages, type StoredMessage } from "./messages.ts";
import {
  ackKey,
  ARRIVAL_KEY,
  headKey,
  messageHeadKey,
  PRESENCE_PREFIX,
  presenceKey,
} from "./schema.ts";

/** Options of {@linkcode AlarmStore}. */
export interface StoreOptions {
  /**
   * Where the log lives: `"kv"` (default; shared by every isolate on the same database) or
   * `"memory"` (this isolate only, gone on restart: what a `:memory:` KV database gives anyway).
   */
  log?: "kv" | "memory";
  /** Clock for age retention of the memory log, injectable for tests. */
  now?: () => number;
}

/** The last alarm and message seqs of a watched target; `undefined` before the first. */
export interface Heads {
  alarms: number | undefined;
  messages: number | undefined;
}

/** One isolate's published sessions-per-id counts, as of `at` (epoch ms). */
export interface PresenceRecord {
  at: number;
  ids: [string, number][];
}

/** Everything the service keeps in Deno KV. */
export class AlarmStore {
  readonly #kv: Deno.Kv;
  readonly #log: AlarmLog;

  constructor(kv: Deno.Kv, retention: Retention, options: StoreOptions = {}) {
    this.#kv = kv;
    this.#log = options.log === "memory"
      ? new MemoryLog(retention, options.now)
      : new KvLog(kv, retention);
  }

  /**
   * Stores `prepared` as the next alarm of `target`. With an idempotency key already used for
   * this target within retention, returns the original alarm and stores nothing.
   */
  append(target: string, prepared: PreparedAlarm, idempotencyKey?: string): Promise<Appended> {
    return this.#log.append(target, prepared, idempotencyKey);
  }

  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]> {
    return this.#log.read(target, after, limit);
  }

  /** The last seq of `target` (0 before its first alarm). */
  head(target: string): Promise<number> {
    return this.#log.head(target);
  }

  /** Records that `target`'s clients acknowledged everything up to `seq`. */
  async ack(target: string, seq: number): Promise<void> {
    await guard(() => this.#kv.atomic().max(ackKey(target), BigInt(seq)).commit());
  }

  /** The highest seq acknowledged for `target` (0 if none). */
  async acked(target: string): Promise<number> {
    const entry = await guard(() => this.#kv.get<Deno.KvU64>(ackKey(target)));
    return entry.value ? Number(entry.value.value) : 0;
  }

  /** Stores a `message` frame for the sessions of `target` (all but `except`); returns it. */
  sendMessage(target: string, frame: string, except: string): Promise<StoredMessage> {
    return appendMessage(this.#kv, target, frame, except);
  }

  /** Messages of `target` with seq in (`after`, `upTo`], in order. Expired ones are skipped. */
  readMessages(target: string, after: number, upTo: number): Promise<StoredMessage[]> {
    return readMessages(this.#kv, target, after, upTo);
  }

  /** The last message seq of `target`. */
  messageHead(target: string): Promise<number> {
    return messageHead(this.#kv, target);
  }

  /**
   * The heads of `target` as they change, starting with their current values. KV coalesces
   * changes, so a value says "read up to here", not "this one thing happened".
   */
  watchHeads(target: string): ReadableStream<Heads> {
    return this.#kv.watch([headKey(target), messageHeadKey(target)]).pipeThrough(
      new TransformStream({
        transform([alarms, messages], out) {
          out.enqueue({ alarms: numberOr(alarms?.value), messages: numberOr(messages?.value) });
        },
      }),
    );
  }

  /** Writes `instance`'s presence `records` (expiring after `ttlMs`), dropping chunks past them. */
  async putPresence(
    instance: string,
    records: PresenceRecord[],
    ttlMs: number,
    previousChunks: number,
  ): Promise<void> {
    // One write per chunk: all of them together could pass an atomic operation's size limit.
    await guard(() => {
      const writes: Promise<unknown>[] = records.map((record, i) =>
        this.#kv.set(presenceKey(instance, i), record, { expireIn: ttlMs })
      );
      for (let i = records.length; i < previousChunks; i++) {
        writes.push(this.#kv.delete(presenceKey(instance, i)));
      }
      return Promise.all(writes);
    });
  }

  /** Removes `instance`'s presence (its first `chunks` chunks); never throws. */
  async removePresence(instance: string, chunks: number): Promise<void> {
    const deletes: Promise<void>[] = [];
    for (let i = 0; i < chunks; i++) deletes.push(this.#kv.delete(presenceKey(instance, i)));
    await Promise.all(deletes).catch(() => {});
  }

  /** Every isolate's presence records, with the instance that wrote each. */
  async listPresence(): Promise<{ instance: string; record: PresenceRecord }[]> {
    return await guard(() =>
      Array.fromAsync(
        this.#kv.list<PresenceRecord>({ prefix: PRESENCE_PREFIX }),
        ({ key, value }) => ({ instance: String(key[1]), record: value }),
      )
    );
  }

  /** Says that `instance` has started, to every isolate watching arrivals. */
  async announceArrival(instance: string): Promise<void> {
    await guard(() => this.#kv.set(ARRIVAL_KEY, instance));
  }

  /** The instance that announced itself last, as it changes, starting with the current one. */
  watchArrivals(): ReadableStream<string | undefined> {
    return this.#kv.watch([ARRIVAL_KEY]).pipeThrough(
      new TransformStream({
        transform([entry], out) {
          out.enqueue(typeof entry?.value === "string" ? entry.value : undefined);
        },
      }),
    );
  }

  /** Closes the KV database. */
  close(): void {
    this.#kv.close();
  }
}

function numberOr(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
