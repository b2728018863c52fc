/**
 * The durable alarm log on Deno KV. Per target: a head key holding the last seq, the alarms
 * under `["alarm", target, seq, part, parts]` (split because a KV value holds at most 64 KiB),
 * idempotency records, and the highest acknowledged seq. Every append is one atomic operation
 * checked against the head, so seqs are strictly increasing and gap-free however many isolates
 * or instances publish to the same target at once.
 *
 * @module
 */
import { type Alarm, completeAlarm, type PreparedAlarm } from "./alarm.ts";
import { isJsonObject } from "./json.ts";

/** How long and how many alarms a target's log keeps. */
export interface Retention {
  /** Alarms kept per target; older ones are deleted as new ones arrive. */
  count: number;
  /** Milliseconds an alarm (and its idempotency record) is kept at least. */
  ageMs: number;
}

/**
 * The outcome of an append: the stored alarm, or, when the idempotency key was used before,
 * the original alarm's `id` and `seq` (nothing was stored, nothing is to be delivered).
 */
export type Appended =
  | { duplicate: false; alarm: Alarm }
  | { duplicate: true; id: string | number; seq: number };

/** Thrown when the store can't be read or written; the API answers 503. */
export class StoreError extends Error {
  override name = "StoreError";
}

// Values are stored as UTF-8 JSON split into parts under the KV value limit.
const PART_BYTES = 60_000;
const MAX_ATTEMPTS = 100;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/** Ids whose head entries are remembered. */
const HEAD_CACHE = 10_000;

/** Key of the last seq of `target`; watched for cross-isolate fan-out. */
export function headKey(target: string): Deno.KvKey {
  return ["head", target];
}

/** The alarm log of every target, in one KV database. */
export class AlarmStore {
  readonly kv: Deno.Kv;
  readonly #retention: Retention;
  /** The head entry of each recently written id, as our own last commit left it. */
  readonly #heads = new Map<string, Deno.KvEntry<number>>();

  constructor(kv: Deno.Kv, retention: Retention) {
    this.kv = kv;
    this.#retention = retention;
  }

  /**
   * Stores `prepared` as the next alarm of `target`. With an idempotency key already used for
   * this target within retention, returns the original alarm and stores nothing.
   */
  async append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
  ): Promise<Appended> {
    const idemKey = idempotencyKey === undefined ? undefined : ["idem", target, idempotencyKey];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // Our own last commit to this head, when we have it, saves a read. If another writer
      // moved the head since, the check below fails and the retry reads it fresh.
      const cached = idemKey || attempt > 0 ? undefined : this.#heads.get(target);
      const [head, idem] = cached
        ? [cached, cached]
        : await guard(() =>
          this.kv.getMany<[number, unknown]>([headKey(target), idemKey ?? headKey(target)])
        );
      if (idemKey && isJsonObject(idem.value)) {
        const { id, seq } = idem.value;
        if ((typeof id === "string" || typeof id === "number") && typeof seq === "number") {
          return { duplicate: true, id, seq };
        }
      }
      const seq = (head.value ?? 0) + 1;
      const alarm = completeAlarm(prepared, target, seq);
      const op = this.kv.atomic().check(head).set(headKey(target), seq);
      const expireIn = this.#retention.ageMs;
      const bytes = new TextEncoder().encode(JSON.stringify(alarm));
      const parts = Math.max(1, Math.ceil(bytes.length / PART_BYTES));
      for (let part = 0; part < parts; part++) {
        const chunk = bytes.subarray(part * PART_BYTES, (part + 1) * PART_BYTES);
        op.set(["alarm", target, seq, part, parts], chunk, { expireIn });
      }
      const dropped = seq - this.#retention.count;
      if (dropped >= 1) {
        // Every part layout the dropped alarm may have (body limit: at most 2 parts).
        for (const key of [[0, 1], [0, 2], [1, 2]]) op.delete(["alarm", target, dropped, ...key]);
      }
      if (idemKey) op.check(idem).set(idemKey, { id: alarm.id, seq }, { expireIn });
      const result = await guard(() => op.commit());
      this.#heads.delete(target);
      if (result.ok) {
        this.#heads.set(target, {
          key: headKey(target),
          value: seq,
          versionstamp: result.versionstamp,
        });
        // Oldest first (insertion order): forget the least recently written ids.
        if (this.#heads.size > HEAD_CACHE) this.#heads.delete(this.#heads.keys().next().value!);
        return { duplicate: false, alarm };
      }
      // Another writer took this seq (or the idempotency key) first: read again and retry.
    }
    throw new StoreError(`Too much contention appending to ${JSON.stringify(target)}`);
  }

  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  async read(target: string, after: number, limit: number): Promise<Alarm[]> {
    // Everything inside the guard: a retried attempt starts over.
    return await guard(async () => {
      const entries = this.kv.list<Uint8Array>({
        start: ["alarm", target, after + 1],
        end: ["alarm", target, MAX_SEQ],
      }, { limit: limit * 2 });
      const alarms: Alarm[] = [];
      let pending: Uint8Array[] = [];
      for await (const { key, value } of entries) {
        const [, , , part, parts] = key;
        if (part === 0) pending = [];
        pending.push(value);
        if (typeof parts === "number" && pending.length === parts) {
          alarms.push(decode(pending));
          if (alarms.length === limit) break;
        }
      }
      return alarms;
    });
  }

  /** The last seq of `target` (0 before its first alarm). */
  async head(target: string): Promise<number> {
    return (await guard(() => this.kv.get<number>(headKey(target)))).value ?? 0;
  }

  /** Records that `target`'s clients acknowledged everything up to `seq`. */
  async ack(target: string, seq: number): Promise<void> {
    await guard(() => this.kv.atomic().max(["ack", target], BigInt(seq)).commit());
  }

  /** The highest seq acknowledged for `target` (0 if none). */
  async acked(target: string): Promise<number> {
    const entry = await guard(() => this.kv.get<Deno.KvU64>(["ack", target]));
    return entry.value ? Number(entry.value.value) : 0;
  }
}

function decode(parts: Uint8Array[]): Alarm {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  // Written by append() from an Alarm; the store is ours, not untrusted input.
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** Attempts at an operation that SQLite reports as busy, before giving up. */
const BUSY_ATTEMPTS = 12;

/**
 * Whether `error` is SQLite saying another isolate holds the write lock: a local store shared
 * by several isolates answers "database is locked" while another one writes.
 */
function isBusy(error: unknown): boolean {
  return error instanceof Error && /database is (locked|busy)/i.test(error.message);
}

/** Waits a jittered, exponentially growing time before attempt `attempt` (about 1.5 s in all). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.min(400, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms / 2 + Math.random() * ms / 2));
}

/**
 * Runs a KV operation (built inside `fn`, so a retry starts over), turning any failure into a
 * {@linkcode StoreError}. Busy errors are retried with backoff before they count as failures.
 */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= BUSY_ATTEMPTS || !isBusy(error)) {
        throw new StoreError(error instanceof Error ? error.message : String(error));
      }
      await backoff(attempt);
    }
  }
}
