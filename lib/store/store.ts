/**
 * The store facade: everything the rest of the service keeps in Deno KV goes through its
 * methods. The alarm log of every target (on KV, or in memory when the KV database is `:memory:`
 * anyway), acknowledgements, the change feed (how instances learn of each other's alarms and
 * relayed messages), presence records, escalation policies and deadlines, and the watches that
 * notice others' writes. Every call has a timeout (`call_timeout.ts`).
 *
 * @module
 */
import {
  type Alarm,
  type Condition,
  type ConditionSpec,
  type Policy,
  type PreparedAlarm,
  StoreError,
} from "../core/mod.ts";
import type { AlarmLog, Appended, DueSpec, Retention } from "./alarm_log.ts";
import type { CommitLimits } from "./appender.ts";
import { type KvLike, TimeoutKv } from "./call_timeout.ts";
import {
  type Claim,
  claimDeadline,
  deletePolicy,
  type DueEntry,
  type DueRecord,
  dueUpTo,
  listPolicies,
  moveDue,
  nextDue,
  POLICY_VERSION,
  putPolicy,
  removeDue,
} from "./escalations.ts";
import { guard } from "./guard.ts";
import { KvLog } from "./kv_log.ts";
import { KvCopies } from "./kv_copies.ts";
import { MemoryLog } from "./memory_log.ts";
import { nextShelvingEnd, removeShelvingEnd, type ShelvingEnd, shelvingsDue } from "./shelvings.ts";
import { appendMessage, type FeedEntry, feedHeads, readFeed, type RelayedMessage } from "./feed.ts";
import {
  ackKey,
  aliveKey,
  ARRIVAL_KEY,
  FEED_HEAD_KEYS,
  headKey,
  PRESENCE_PREFIX,
  presenceKey,
  probeKey,
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
  /** Milliseconds a KV call may take before it fails with `StoreError` (default 5000). */
  timeoutMs?: number;
  /**
   * Also read watched keys every this many milliseconds. For a SQLite file shared by several
   * processes: its watches are notified only of writes from the same process.
   */
  pollMs?: number;
  /** What one atomic operation carries at most (`open.ts` says what KV Connect takes). */
  commits?: Partial<CommitLimits>;
}

/** How long a KV call may take by default before it counts as failed. */
export const DEFAULT_STORE_TIMEOUT_MS = 5000;

/** One chunk of an isolate's published sessions-per-id counts. */
export interface PresenceRecord {
  ids: [string, number][];
}

/** An isolate's presence as read: when it last said it is alive, and its counts. */
export interface PresenceSnapshot {
  instance: string;
  /** Epoch ms of its last liveness record. */
  at: number;
  ids: [string, number][];
}

/** Everything the service keeps in Deno KV. */
export class AlarmStore {
  readonly #kv: TimeoutKv;
  /** The KV the deadlines wrap: a probe's write is followed to its end there. */
  readonly #rawKv: KvLike;
  /** The probe write not answered yet, if any (see `probe`). */
  #probeWrite: Promise<unknown> | undefined;
  readonly #log: AlarmLog;
  /** The arrival record as this isolate's own announcement left it. */
  #arrival: Deno.KvEntry<string> | undefined;
  readonly #pollMs: number | undefined;
  #watches = 0;

  /** Milliseconds a KV call, or an append from queueing to commit, may take. */
  get timeoutMs(): number {
    return this.#kv.timeoutMs;
  }

  /** How often watched keys are also read (`StoreOptions.pollMs`), if at all. */
  get pollMs(): number | undefined {
    return this.#pollMs;
  }

  constructor(kv: KvLike, retention: Retention, options: StoreOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.#rawKv = kv;
    this.#kv = new TimeoutKv(kv, timeoutMs);
    this.#pollMs = options.pollMs;
    this.#log = options.log === "memory"
      ? new MemoryLog(retention, new KvCopies(this.#kv, retention.ageMs), options.now)
      : new KvLog(this.#kv, retention, timeoutMs, options.commits);
  }

  /**
   * Stores `prepared` as the next alarm of `target`, and with it (in the same commit, on KV) the
   * escalation deadline `due` if given. With an idempotency key already used for this target
   * within retention, returns the original alarm and stores nothing.
   */
  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
    condition?: ConditionSpec,
  ): Promise<Appended> {
    return this.#log.append(target, prepared, idempotencyKey, due, condition);
  }

  /** Condition `key` of `target`, if it was ever raised. */
  condition(target: string, key: string): Promise<Condition | undefined> {
    return this.#log.condition(target, key);
  }

  /** Every condition of `target` ever raised (normal ones too). */
  conditions(target: string): Promise<Condition[]> {
    return this.#log.conditions(target);
  }

  /** Stores escalation policy `policy` (replacing one of the same name). */
  putPolicy(policy: Policy): Promise<void> {
    return putPolicy(this.#kv, policy);
  }

  /** Deletes escalation policy `name`; whether it existed. */
  deletePolicy(name: string): Promise<boolean> {
    return deletePolicy(this.#kv, name);
  }

  /** Every escalation policy, by name. */
  listPolicies(): Promise<Policy[]> {
    return listPolicies(this.#kv);
  }

  /** The policy version as it changes, starting with the current one: refresh on each. */
  watchPolicies(): ReadableStream<number> {
    return this.#watch([POLICY_VERSION], ([entry]) => {
      const value = entry?.value;
      return value instanceof Deno.KvU64 ? Number(value.value) : 0;
    });
  }

  /** Up to `limit` escalation records due at or before `now`, earliest first. */
  dueUpTo(now: number, limit: number): Promise<DueEntry[]> {
    return dueUpTo(this.#kv, now, limit);
  }

  /** When the earliest escalation record due after `now` is due, if any. */
  nextDue(now: number): Promise<number | undefined> {
    return nextDue(this.#kv, now);
  }

  /** Up to `limit` shelvings ending at or before `now`, earliest first. */
  shelvingsDue(now: number, limit: number): Promise<ShelvingEnd[]> {
    return shelvingsDue(this.#kv, now, limit);
  }

  /** When the earliest shelving ending after `now` ends, if any. */
  nextShelvingEnd(now: number): Promise<number | undefined> {
    return nextShelvingEnd(this.#kv, now);
  }

  /** Forgets a shelving's end (once dealt with) unless someone did first; whether it did. */
  removeShelvingEnd(end: ShelvingEnd): Promise<boolean> {
    return removeShelvingEnd(this.#kv, end);
  }

  /**
   * Claims an escalation deadline, unless its alarm or its condition was acknowledged, or the
   * condition is shelved at `now` (postponed then, to `recheckAt` at the latest; see
   * `escalations.ts`): exactly one caller per entry gets `claimed`, with a fire record leased
   * until `leaseUntil`.
   */
  claimDeadline(
    entry: DueEntry,
    leaseUntil: number,
    next: { at: number } | undefined,
    now: number,
    recheckAt: number,
  ): Promise<Claim> {
    return claimDeadline(this.#kv, entry, leaseUntil, next, now, recheckAt);
  }

  /** Moves an escalation record to `at` with `record`, unless someone moved it first. */
  moveDue(entry: DueEntry, at: number, record: DueRecord): Promise<DueEntry | undefined> {
    return moveDue(this.#kv, entry, at, record);
  }

  /** Deletes an escalation record, unless someone moved it first; whether it did. */
  removeDue(entry: DueEntry): Promise<boolean> {
    return removeDue(this.#kv, entry);
  }

  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]> {
    return this.#log.read(target, after, limit);
  }

  /** The last seq of `target` (0 before its first alarm). */
  head(target: string): Promise<number> {
    return this.#log.head(target);
  }

  /**
   * Records that `target`'s clients acknowledged everything up to `seq`, and in the same commit
   * relays `message` (announcing it) to the sessions of `target` on every instance.
   */
  async ack(target: string, seq: number, message: RelayedMessage): Promise<void> {
    await appendMessage(this.#kv, target, message, (op) => op.max(ackKey(target), BigInt(seq)));
  }

  /** The highest seq acknowledged for `target`, or null if no client of it ever acknowledged. */
  async acked(target: string): Promise<number | null> {
    const entry = await guard(() => this.#kv.get<Deno.KvU64>(ackKey(target)));
    return entry.value ? Number(entry.value.value) : null;
  }

  /** The head of each change-feed bucket, in bucket order. */
  feedHeads(): Promise<number[]> {
    return feedHeads(this.#kv);
  }

  /** Entries of feed `bucket` numbered after `after`, in order, a page at most. */
  readFeed(bucket: number, after: number): Promise<FeedEntry[]> {
    return readFeed(this.#kv, bucket, after);
  }

  /** Relays a message to the sessions of `target` on every instance, through the feed. */
  sendMessage(target: string, message: RelayedMessage): Promise<void> {
    return appendMessage(this.#kv, target, message);
  }

  /** The last seq of each of `targets`, in order: 10 per read, 20 reads at a time at most. */
  async heads(targets: readonly string[]): Promise<number[]> {
    const heads: number[] = [];
    for (let wave = 0; wave < targets.length; wave += 200) {
      const reads: Promise<Deno.KvEntryMaybe<number>[]>[] = [];
      for (let i = wave; i < Math.min(targets.length, wave + 200); i += 10) {
        const keys = targets.slice(i, i + 10).map(headKey);
        reads.push(guard(() => this.#kv.getMany<number[]>(keys)));
      }
      for (const entries of await Promise.all(reads)) {
        for (const entry of entries) heads.push(entry.value ?? 0);
      }
    }
    return heads;
  }

  /**
   * The feed heads as they change, starting with their current values: one watch stream,
   * whatever the number of ids. A value says "read up to here", not "this one thing happened".
   */
  watchFeed(): ReadableStream<number[]> {
    return this.#watch(FEED_HEAD_KEYS, (entries) => entries.map((e) => numberOr(e.value) ?? 0));
  }

  /**
   * Writes `instance`'s presence: its liveness record (`at`, how many chunks; expiring after
   * `ttlMs`), the chunks in `writes`, and the deletion of those in `deletes`. Chunks expire after
   * `chunkTtlMs`, so a writer rewrites unchanged ones before that.
   */
  async putPresence(
    instance: string,
    alive: { at: number; chunks: number },
    ttlMs: number,
    writes: ReadonlyMap<number, PresenceRecord>,
    deletes: readonly number[],
    chunkTtlMs: number,
  ): Promise<void> {
    // One write per key: all of them together could pass an atomic operation's size limit.
    await guard(() => {
      const calls: Promise<unknown>[] = [
        this.#kv.set(aliveKey(instance), alive, { expireIn: ttlMs }),
      ];
      for (const [i, record] of writes) {
        calls.push(this.#kv.set(presenceKey(instance, i), record, { expireIn: chunkTtlMs }));
      }
      for (const i of deletes) calls.push(this.#kv.delete(presenceKey(instance, i)));
      return Promise.all(calls);
    });
  }

  /** Removes `instance`'s presence (its liveness record and first `chunks` chunks); never throws. */
  async removePresence(instance: string, chunks: number): Promise<void> {
    const deletes = [this.#kv.delete(aliveKey(instance))];
    for (let i = 0; i < chunks; i++) deletes.push(this.#kv.delete(presenceKey(instance, i)));
    await Promise.all(deletes).catch(() => {});
  }

  /** Every isolate's presence with a liveness record: when it was written, and its counts. */
  async listPresence(): Promise<PresenceSnapshot[]> {
    const entries = await guard(() =>
      Array.fromAsync(this.#kv.list<unknown>({ prefix: PRESENCE_PREFIX }))
    );
    const alive = new Map<string, { at: number; chunks: number }>();
    for (const { key, value } of entries) {
      if (key[2] === "alive" && isAlive(value)) alive.set(String(key[1]), value);
    }
    const snapshots = new Map<string, PresenceSnapshot>();
    for (const [instance, { at }] of alive) snapshots.set(instance, { instance, at, ids: [] });
    for (const { key, value } of entries) {
      const instance = String(key[1]);
      const chunk = key[2];
      const live = alive.get(instance);
      if (typeof chunk !== "number" || !live || chunk >= live.chunks) continue;
      // Written by putPresence from a PresenceRecord: ours, not untrusted input.
      snapshots.get(instance)!.ids.push(...(value as PresenceRecord).ids);
    }
    return [...snapshots.values()];
  }

  /** Says that `instance` has started, to every isolate watching arrivals. */
  async announceArrival(instance: string): Promise<void> {
    const { versionstamp } = await guard(() => this.#kv.set(ARRIVAL_KEY, instance));
    this.#arrival = { key: ARRIVAL_KEY, value: instance, versionstamp };
  }

  /**
   * Nobody else writes the store (as of this isolate's own arrival): commits stop appending to
   * the change feed, which nobody would read, and check the arrival record instead. The first
   * commit after another isolate arrives fails that check and appends to the feed from then on,
   * so the newcomer misses nothing.
   */
  stopFeedWrites(): void {
    if (this.#arrival) this.#log.fence(this.#arrival);
  }

  /** Others write the store too: every commit appends to the change feed. */
  startFeedWrites(): void {
    this.#log.fence(undefined);
  }

  /** The instance that announced itself last, as it changes, starting with the current one. */
  watchArrivals(): ReadableStream<string | undefined> {
    return this.#watch([ARRIVAL_KEY], ([entry]) => {
      const value = entry?.value;
      return typeof value === "string" ? value : undefined;
    });
  }

  /** Watch streams open now. */
  get watches(): number {
    return this.#watches;
  }

  // The mapped values of `keys` as they change (repeats dropped), from a KV watch and, with
  // `pollMs`, from reads at that interval too. Ends when the watch ends; counted while open.
  #watch<T>(
    keys: readonly Deno.KvKey[],
    map: (entries: Deno.KvEntryMaybe<unknown>[]) => T,
  ): ReadableStream<T> {
    const kv = this.#kv;
    const pollMs = this.#pollMs;
    let reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]> | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    let open = true;
    let last: string | undefined;
    const end = () => {
      if (!open) return false;
      open = false;
      this.#watches--;
      clearInterval(timer);
      return true;
    };
    return new ReadableStream<T>({
      start: (controller) => {
        this.#watches++;
        const push = (entries: Deno.KvEntryMaybe<unknown>[]) => {
          const value = map(entries);
          const text = JSON.stringify(value) ?? "";
          if (!open || text === last) return;
          last = text;
          controller.enqueue(value);
        };
        const watching = kv.watch(keys).getReader();
        reader = watching;
        (async () => {
          for (;;) {
            const { done, value } = await watching.read();
            if (done) return;
            push(value);
          }
        })().then(
          () => end() && controller.close(),
          (error) => end() && controller.error(error),
        );
        if (pollMs !== undefined) {
          timer = setInterval(() => {
            kv.getMany(keys).then(push, () => {}); // a failed read is retried at the next tick
          }, pollMs);
        }
      },
      cancel: () => {
        end();
        return reader?.cancel();
      },
    });
  }

  /** Writes a short-lived record for `instance`: fails (`StoreError`) while the store can't write. */
  async probe(instance: string): Promise<void> {
    // One probe write at a time: KV Connect retries an unanswered call until the store is back,
    // so a new one for each health check of an outage would pile up, each retried for good.
    if (this.#probeWrite) throw new StoreError("The store has not answered the last probe yet");
    await guard(() => {
      // Made inside the guard: a busy SQLite file's retry writes afresh.
      const write = this.#rawKv.set(probeKey(instance), Date.now(), { expireIn: 60_000 });
      const pending = write.then(() => {}, () => {}).finally(() => {
        if (this.#probeWrite === pending) this.#probeWrite = undefined;
      });
      this.#probeWrite = pending;
      return this.#kv.within(write);
    });
  }

  /** Closes the KV database. */
  close(): void {
    this.#kv.close();
  }
}

function isAlive(value: unknown): value is { at: number; chunks: number } {
  return typeof value === "object" && value !== null && "at" in value && "chunks" in value &&
    typeof value.at === "number" && typeof value.chunks === "number";
}

function numberOr(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
