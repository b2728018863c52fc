/**
 * Group commit for the alarm log. An append that finds no commit in flight is committed at once;
 * appends that arrive while one is in flight wait and go out together in the next atomic
 * operation. So a lone publisher pays no extra latency, and under load one commit (one fsync on
 * disk) carries many alarms. Each batch checks the head of every id it touches, so seqs stay
 * strictly increasing and gap-free across isolates: a batch that loses a race fails as a whole
 * and is retried with fresh heads. The same operation appends, per id, an entry to the change
 * feed (`feed.ts`) under its bucket's checked head; or, while this isolate is alone on the store,
 * checks the arrival record instead: a newcomer's arrival fails that check, and the retry appends
 * to the feed from then on.
 *
 * Every append is answered within the store's deadline from the moment it was queued, however
 * long the batches ahead of it take: past it, the append fails with a `StoreError` whether it is
 * still queued (then it is dropped, never stored) or in flight (then it may still land, and a
 * retry with the same idempotency key finds it).
 *
 * @module
 */
import {
  type Alarm,
  applyChange,
  completeAlarm,
  type Condition,
  type ConditionSpec,
  conditionView,
  DEFAULT_MAX_CONDITIONS,
  type EntryFrames,
  entryJson,
  inActiveList,
  isForgotten,
  isJsonObject,
  keptAlarm,
  knowFrames,
  listDelta,
  MAX_KEPT_ALARM,
  type PreparedAlarm,
  raisedAlarm,
  refusalError,
  StoreError,
  tooManyConditions,
} from "../core/mod.ts";
import type { Appended, DueSpec, Retention } from "./alarm_log.ts";
import { type KvLike, TimeLimit } from "./call_timeout.ts";
import { ConditionCache } from "./condition_cache.ts";
import { decodeCondition, encodeCondition, encodeRaised, recordExpiry } from "./conditions.ts";
import { writeDeadline } from "./escalations.ts";
import { guard } from "./guard.ts";
import { writeShelvingEnd } from "./shelvings.ts";
import { FEED_TTL_MS } from "./feed.ts";
import {
  ARRIVAL_KEY,
  bucketOf,
  condKey,
  condPrefix,
  feedHeadKey,
  feedKey,
  headKey,
  idemKey,
  listedKey,
  writeAlarm,
} from "./schema.ts";

/** What planning a batch needs to know of a queued append. */
export interface Planned {
  readonly target: string;
  readonly idemKey: Deno.KvKey | undefined;
  /** The alarm's bytes, plus a deadline record's and a condition record's if it has them. */
  readonly bytes: number;
}

/**
 * How many appends from the front of `queue` fit one atomic operation within `limits`: checks
 * (one per id head, idempotency key and feed bucket head, and one kept for the arrival record),
 * bytes and alarms. The first always goes, whatever it needs.
 */
export function batchSize(queue: Iterable<Planned>, limits: Partial<CommitLimits> = {}): number {
  const { maxChecks, maxBytes, maxAlarms } = { ...LOCAL_COMMITS, ...limits };
  const checked = new Set<string>();
  let bytes = 0;
  let n = 0;
  for (const p of queue) {
    const keys = [`t:${p.target}`, `b:${bucketOf(p.target)}`];
    if (p.idemKey) keys.push(`i:${JSON.stringify(p.idemKey)}`);
    const adds = keys.filter((k) => !checked.has(k));
    bytes += p.bytes;
    if (
      n > 0 &&
      (checked.size + adds.length + 1 > maxChecks || n >= maxAlarms || bytes > maxBytes)
    ) break;
    for (const k of adds) checked.add(k);
    n++;
  }
  return n;
}

/** What one atomic operation may carry on a database. */
export interface CommitLimits {
  /** Checks (100 on a local database; a self-hosted denokv takes 10). */
  maxChecks: number;
  /** Bytes of alarms, as their `bytes` count them (the first append goes whatever its size). */
  maxBytes: number;
  maxAlarms: number;
  /**
   * Commits in flight at once while this process is alone on the database, each on ids no other
   * has (1 on a local database, whose writes queue behind each other anyway).
   */
  maxInFlight: number;
}

/** The records of the conditions a batch changes, and the ids whose records were all read. */
interface Known {
  conditions: Map<string, Condition | undefined>;
  filled: Set<string>;
}

/**
 * How many conditions of an id are in its active list. `exact`: counted from its records, or
 * kept by this isolate's commits since; else read from its row, which a writer older than 0.8
 * (during an upgrade) may have left behind: a raise is refused only on an exact count.
 */
interface Listed {
  count: number;
  exact: boolean;
}

/** The sizes of the active lists a batch may change, and which of them were counted. */
interface Sizes {
  sizes: Map<string, Listed>;
  counted: ReadonlySet<string>;
}

/** The ids whose active list no record was counted for (never changed). */
const NONE_COUNTED: ReadonlySet<string> = new Set();

/** A condition a batch changes. */
interface Wanted {
  target: string;
  key: string;
  kvKey: Deno.KvKey;
}

interface Pending extends Planned {
  prepared: PreparedAlarm;
  /** The key of the condition the append changes, if any (read, not checked: see `#commit`). */
  condKey?: Deno.KvKey | undefined;
  /** That condition's id within the batch (`target`, a newline, `key`: neither has one). */
  condId?: string | undefined;
  /** An escalation deadline, written in the same commit as the alarm. */
  due: DueSpec | undefined;
  /** The condition change the entry makes, in the same commit. */
  condition: ConditionSpec | undefined;
  resolve: (appended: Appended) => void;
  reject: (error: unknown) => void;
  /** Answered with a `StoreError` at its deadline; nobody waits for it any more. */
  expired: boolean;
}

// KV allows 100 checks and 1000 mutations per atomic operation, 800 KiB in all, and 10 keys
// per getMany; KV Connect takes less (see `storeOptionsFor`).
/** What one atomic operation carries on a local KV database. */
export const LOCAL_COMMITS: CommitLimits = {
  maxChecks: 100,
  maxBytes: 512 * 1024,
  maxAlarms: 100,
  maxInFlight: 1,
};
const MAX_READ = 10;
/** Bytes counted for a deadline record and its key (a policy name and a target: 2 ids). */
const DUE_BYTES = 512;
/** Bytes counted for a condition record besides its alarm (and its view on the entry). */
const CONDITION_BYTES = 2048;
const MAX_ATTEMPTS = 100;
/** Ids whose head entries are remembered. */
const HEAD_CACHE = 10_000;
/** Bytes of condition records remembered (each holds its latest alarm). */
const CONDITION_CACHE_BYTES = 16 * 1024 * 1024;
/** What a condition record takes besides its alarm, roughly. */
const RECORD_BYTES = 512;
/** Ids with at most this many conditions have them all read at once, and cached complete. */
const LISTED_CONDITIONS = 256;
/** What a record changed without a raise here is counted as (its alarm's size is not known). */
const UNKNOWN_RECORD_BYTES = 4096;

/** Appends alarms to the log, batching concurrent appends into shared atomic operations. */
export class Appender {
  readonly #kv: KvLike;
  readonly #retention: Retention;
  /** While alone: the arrival record every commit checks instead of appending to the feed. */
  #fence: Deno.KvEntryMaybe<unknown> | undefined;
  /** Each feed bucket's head entry, as our own last commit left it. */
  readonly #feedHeads = new Map<number, Deno.KvEntryMaybe<unknown>>();
  /** The head entry of each recently written id, as our own last commit left it. */
  readonly #heads = new Map<string, Deno.KvEntry<number>>();
  /** Recently changed conditions' records, as our own last commits left them. */
  readonly #conditions = new ConditionCache(CONDITION_CACHE_BYTES);
  /** The active list's size of each id whose head is cached, as our own last commit left it. */
  readonly #listed = new Map<string, Listed>();
  #queue: Pending[] = [];
  /** Batches committing now, and their ids. */
  #inFlight = 0;
  readonly #committing = new Set<string>();
  readonly #limits: CommitLimits;
  readonly #limit: TimeLimit;

  /**
   * `timeoutMs`: how long an append may wait, queued and committing, before it fails; `limits`:
   * what one atomic operation may carry on this database.
   */
  constructor(
    kv: KvLike,
    retention: Retention,
    timeoutMs: number,
    limits: Partial<CommitLimits> = {},
  ) {
    this.#kv = kv;
    this.#retention = retention;
    this.#limits = { ...LOCAL_COMMITS, ...limits };
    this.#limit = new TimeLimit(timeoutMs);
  }

  /** Checks `arrival` instead of appending to the feed (`undefined`: append again). */
  fence(arrival: Deno.KvEntryMaybe<unknown> | undefined): void {
    this.#fence = arrival;
  }

  /**
   * Queues `prepared` as the next alarm of `target`, with escalation deadline `due` if given;
   * resolves once it is committed.
   */
  append(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
    due?: DueSpec,
    condition?: ConditionSpec,
  ): Promise<Appended> {
    const key = idempotencyKey === undefined ? undefined : idemKey(target, idempotencyKey);
    return new Promise((resolve, reject) => {
      // A condition record holds the alarm once more, next to the entry and its view.
      const bytes = prepared.bytes * (condition ? 2 : 1) + (due ? DUE_BYTES : 0) +
        (condition ? CONDITION_BYTES : 0);
      const p: Pending = {
        target,
        prepared,
        idemKey: key,
        condKey: condition && condKey(target, condition.key),
        condId: condition && `${target}\n${condition.key}`,
        bytes,
        due,
        condition,
        resolve,
        reject,
        expired: false,
      };
      const done = this.#limit.start(() => {
        p.expired = true;
        // Deadlines expire in queue order, so a queued append that expires is the first one.
        if (this.#queue[0] === p) this.#queue.shift();
        reject(
          new StoreError(`The store did not take the alarm within ${this.#limit.timeoutMs} ms`),
        );
      });
      p.resolve = (appended) => {
        done();
        resolve(appended);
      };
      p.reject = (error) => {
        done();
        reject(error);
      };
      this.#queue.push(p);
      this.#pump();
    });
  }

  // Starts batches while there is room: one at a time, or, while fenced (no feed head that every
  // commit moves), up to `maxInFlight` at once on disjoint ids.
  #pump(): void {
    const room = this.#fence ? this.#limits.maxInFlight : 1;
    while (this.#inFlight < room && this.#queue.length > 0) {
      const batch = this.#take();
      if (batch.length === 0) return;
      void this.#run(batch);
    }
  }

  async #run(batch: Pending[]): Promise<void> {
    this.#inFlight++;
    for (const p of batch) this.#committing.add(p.target);
    try {
      await this.#commit(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.#inFlight--;
      for (const p of batch) this.#committing.delete(p.target);
      this.#pump();
    }
  }

  // The longest run of the queue that fits one atomic operation, passing over the ids of the
  // batches committing now (their appends keep their order: seq order is queue order); expired
  // appends are dropped.
  #take(): Pending[] {
    while (this.#queue[0]?.expired) this.#queue.shift();
    if (this.#committing.size === 0) {
      return this.#queue.splice(0, batchSize(this.#queue, this.#limits));
    }
    const ready = this.#queue.filter((p) => !p.expired && !this.#committing.has(p.target));
    const batch = ready.slice(0, batchSize(ready, this.#limits));
    if (batch.length > 0) {
      const taken = new Set(batch);
      this.#queue = this.#queue.filter((p) => !p.expired && !taken.has(p));
    }
    return batch;
  }

  async #commit(batch: Pending[]): Promise<void> {
    const max = this.#retention.conditions ?? DEFAULT_MAX_CONDITIONS;
    // Ids whose active list a change of the batch grows or shrinks: their sizes are needed (found
    // out while applying the changes; the attempt then starts again with them).
    const resizing = new Set<string>();
    // Of those, the ids to count from their records: one would be full by a count read from its
    // row.
    const recount = new Set<string>();
    // Whether a commit lost a race: every head is read afresh then.
    let contended = false;
    attempts: for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // Every append of the batch was answered at its deadline: nobody waits for another try.
      if (batch.every((p) => p.expired)) throw new StoreError("Appends expired before commit");
      const targets = [...new Set(batch.map((p) => p.target))];
      // Our own last commit to a head saves reading it; if another writer moved it since, the
      // check fails and the retry reads every head fresh.
      const unknown = targets.filter((t) => contended || !this.#heads.has(t));
      const idemKeys = batch.flatMap((p) => (p.idemKey ? [p.idemKey] : []));
      // A failed commit while fenced may mean a newcomer: read the arrival record again.
      const fenced = this.#fence;
      const fence = contended && fenced ? [ARRIVAL_KEY] : [];
      const buckets = [...new Set(targets.map(bucketOf))];
      // Fenced, the feed is not written: its heads need no reading.
      const unknownBuckets = fenced
        ? []
        : buckets.filter((b) => contended || !this.#feedHeads.has(b));
      // The conditions the batch changes. A cached record is trusted only with its id's head
      // from the cache too (see `ConditionCache`).
      const wanted = new Map<string, Wanted>();
      for (const p of batch) {
        if (p.condition && p.condKey && p.condId) {
          wanted.set(p.condId, { target: p.target, key: p.condition.key, kvKey: p.condKey });
        }
      }
      // The size of the active list of each id in `resizing` not cached: read with the heads (its
      // row changes only with its head), or counted.
      const unsized = resizing.size === 0
        ? []
        : [...resizing].filter((t) =>
          !recount.has(t) && this.#cachedSize(t, unknown, recount) === undefined
        );
      const keys = [
        ...unknown.map(headKey),
        ...idemKeys,
        ...unknownBuckets.map(feedHeadKey),
        ...unsized.map(listedKey),
        ...fence,
      ];
      // Nothing to read is the common case (every head cached). Heads read in separate
      // snapshots are fine: each is checked at commit.
      const reads: Promise<Deno.KvEntryMaybe<unknown>[]>[] = [];
      for (let i = 0; i < keys.length; i += MAX_READ) {
        const chunk = keys.slice(i, i + MAX_READ);
        reads.push(guard(() => this.#kv.getMany(chunk)));
      }
      const read = reads.length === 0 ? [] : (await Promise.all(reads)).flat();
      const heads = new Map<string, Deno.KvEntryMaybe<unknown> | undefined>(
        targets.map((t) => [t, this.#heads.get(t)]),
      );
      unknown.forEach((t, i) => heads.set(t, read[i]));
      const idems = new Map(idemKeys.map((k, i) => [JSON.stringify(k), read[unknown.length + i]!]));
      const feedHeads = new Map(buckets.map((b) => [b, this.#feedHeads.get(b)]));
      unknownBuckets.forEach((b, i) =>
        feedHeads.set(b, read[unknown.length + idemKeys.length + i])
      );
      // Condition records are read after the heads, never before: a change made after the head
      // was read moved the head, and fails this commit.
      const known = this.#conditionsOf(wanted, unknown);
      const { conditions, filled } = known instanceof Promise ? await known : known;
      const rows = read.slice(
        keys.length - unsized.length - fence.length,
        read.length - fence.length,
      );
      const sizing = this.#sizes(unsized, rows, recount);
      const { sizes, counted } = sizing instanceof Promise ? await sizing : sizing;
      // Each changed condition's record as the batch leaves it, encoded, and roughly what it
      // holds for the cache's budget.
      const records = new Map<string, { record: string; bytes: number }>();
      const arrival = fence.length > 0 ? read.at(-1) : undefined;
      if (this.#fence !== fenced) {
        // Fenced or unfenced while reading (a newcomer arrived, or left): the feed heads this
        // attempt read, or didn't, no longer fit; start again with them read afresh.
        contended = true;
        continue;
      }
      if (arrival && arrival.versionstamp !== this.#fence?.versionstamp) {
        this.#fence = undefined; // a newcomer: write the feed, with its heads read afresh
        contended = true;
        continue;
      }

      const op = this.#kv.atomic();
      const next = new Map<string, number>();
      const first = new Map<string, number>();
      const results: [Pending, Appended][] = [];
      const refused: [Pending, Error][] = [];
      // Ids whose active list's size this commit writes: changed, or counted afresh.
      const resized = new Set(counted);
      const firstOfKey = new Map<string, Alarm>();
      for (const t of targets) {
        const head = heads.get(t)!;
        op.check(head);
        const seq = typeof head.value === "number" ? head.value : 0;
        next.set(t, seq);
        first.set(t, seq);
      }
      for (const p of batch) {
        const idemId = p.idemKey ? JSON.stringify(p.idemKey) : undefined;
        const stored = idemId === undefined ? undefined : idems.get(idemId)?.value;
        const earlier = idemId === undefined ? undefined : firstOfKey.get(idemId);
        if (
          isJsonObject(stored) && typeof stored.seq === "number" &&
          (typeof stored.id === "string" || typeof stored.id === "number")
        ) {
          results.push([p, { duplicate: true, id: stored.id, seq: stored.seq }]);
          continue;
        }
        if (earlier) {
          results.push([p, { duplicate: true, id: earlier.id, seq: earlier.seq }]);
          continue;
        }
        const seq = next.get(p.target)! + 1;
        let alarm = completeAlarm(p.prepared, p.target, seq);
        let due = p.due;
        let condition: Condition | undefined;
        // The entry and its frames: serialized once, here, for the log, the record and the
        // sessions alike (`knowFrames`).
        let entry: Alarm = alarm;
        let frames: EntryFrames | undefined;
        if (p.condition && p.condId) {
          const id = p.condId;
          const { key, change, at } = p.condition;
          // A cached copy outlives its record, which expires once normal past retention.
          const known = conditions.get(id);
          const before = known && isForgotten(known, at, this.#retention.ageMs) ? undefined : known;
          if (change.action === "raise") alarm = raisedAlarm(alarm, before);
          const out = applyChange(before, change, at, p.target, key, seq);
          if (!out.ok) {
            refused.push([p, refusalError(out.refusal, before !== undefined)]);
            continue;
          }
          condition = out.condition;
          const delta = listDelta(before, condition);
          if (delta !== 0) {
            let size = sizes.get(p.target);
            if (size === undefined) {
              const cached = this.#cachedSize(p.target, unknown, recount);
              if (cached) sizes.set(p.target, size = { ...cached });
            }
            if (size === undefined) {
              resizing.add(p.target);
              continue attempts;
            }
            if (delta > 0 && size.count >= max) {
              // Counted from a row: count the records before refusing.
              if (!size.exact) {
                recount.add(p.target);
                continue attempts;
              }
              refused.push([p, tooManyConditions(p.target, max)]);
              continue;
            }
            size.count += delta;
            resized.add(p.target);
          }
          const view = conditionView(condition);
          entry = { ...alarm, condition: view };
          let record: string | undefined;
          let bytes = UNKNOWN_RECORD_BYTES;
          if (change.action === "raise") {
            // A repeat of an active condition starts no new deadline: the first one still runs.
            if (before && before.state !== "normal") due = undefined;
            const json = JSON.stringify(alarm);
            frames = { seq, alarm: json, condition: JSON.stringify(view) };
            condition.alarm = keptAlarm(alarm, json.length);
            if (condition.alarm === alarm) record = encodeRaised(frames, condition.recent);
            bytes = Math.min(json.length, MAX_KEPT_ALARM) + RECORD_BYTES;
          }
          // Two changes of one condition in a batch apply in order; its last record is written.
          conditions.set(id, condition);
          records.set(id, { record: record ?? encodeCondition(condition), bytes });
        } else {
          frames = { seq, alarm: JSON.stringify(alarm) };
        }
        if (frames) knowFrames(entry, frames);
        next.set(p.target, seq);
        writeAlarm(op, entry, this.#retention, frames && entryJson(frames));
        if (due) writeDeadline(op, entry, due, p.condition?.key);
        const change = p.condition?.change;
        if (change?.action === "shelve") {
          writeShelvingEnd(op, p.target, p.condition!.key, change.until);
        }
        if (p.idemKey && idemId) {
          op.check(idems.get(idemId)!).set(p.idemKey, { id: alarm.id, seq }, {
            expireIn: this.#retention.ageMs,
          });
          firstOfKey.set(idemId, alarm);
        }
        results.push([
          p,
          condition ? { duplicate: false, alarm: entry, condition } : {
            duplicate: false,
            alarm: entry,
          },
        ]);
      }
      // No check of the records: each change of one comes with an entry of its id, whose head
      // this commit checks, so a record changed since it was read fails the commit anyway.
      for (const [id, { record }] of records) {
        const expiry = recordExpiry(conditions.get(id)!, this.#retention.ageMs);
        op.set(wanted.get(id)!.kvKey, record, expiry);
      }
      // Only the heads that moved are written: a batch whose changes were all refused leaves no
      // head behind for an id that has none, and moves no versionstamp others have cached.
      const changed = [...next].filter(([t, seq]) => seq > first.get(t)!);
      for (const [t, seq] of changed) op.set(headKey(t), seq);
      for (const t of resized) op.set(listedKey(t), sizes.get(t)!.count);
      const feed = this.#fence ? new Map<number, number>() : this.#feed(op, feedHeads, changed);
      if (this.#fence) op.check(this.#fence);
      const result = await guard(() => op.commit());
      for (const t of targets) this.#heads.delete(t);
      for (const b of feed.keys()) this.#feedHeads.delete(b);
      // Heads read afresh: others may have changed any condition of those ids meanwhile (unless
      // this attempt read them all).
      for (const t of unknown) {
        if (!filled.has(t)) this.#conditions.forget(t);
        if (!sizes.has(t)) this.#listed.delete(t);
      }
      if (!result.ok) {
        for (const t of targets) {
          this.#conditions.forget(t);
          this.#listed.delete(t);
        }
      }
      if (result.ok) {
        for (const [t, seq] of changed) this.#remember(t, seq, result.versionstamp);
        for (const [t, size] of sizes) if (this.#heads.has(t)) this.#listed.set(t, size);
        for (const [id, { bytes }] of records) {
          const { target, key } = wanted.get(id)!;
          this.#conditions.set(target, key, conditions.get(id)!, bytes);
        }
        for (const [b, n] of feed) {
          this.#feedHeads.set(b, {
            key: feedHeadKey(b),
            value: n,
            versionstamp: result.versionstamp,
          });
        }
        for (const [p, appended] of results) p.resolve(appended);
        for (const [p, error] of refused) p.reject(error);
        return;
      }
      // Another writer moved a head (or took an idempotency key) first: read again and retry.
      contended = true;
    }
    throw new StoreError("Too much contention appending alarms");
  }

  /**
   * The active list's size of `target` as our last commit left it, while its head is cached and
   * was not read again (`unknown`) nor is to be counted (`recount`).
   */
  #cachedSize(
    target: string,
    unknown: readonly string[],
    recount: ReadonlySet<string>,
  ): Listed | undefined {
    return unknown.includes(target) || recount.has(target) ? undefined : this.#listed.get(target);
  }

  /**
   * The sizes of the active lists not cached, copies to change: of `unsized` from their rows in
   * `rows` (in order); of those whose row is missing (a store written before 0.8) and of
   * `recount`, counted from their records (in `counted`: the commit writes them).
   */
  #sizes(
    unsized: readonly string[],
    rows: readonly Deno.KvEntryMaybe<unknown>[],
    recount: ReadonlySet<string>,
  ): Sizes | Promise<Sizes> {
    // The common case: no size to read (none changes, or every one is cached).
    if (unsized.length === 0 && recount.size === 0) {
      return { sizes: new Map(), counted: NONE_COUNTED };
    }
    const sizes = new Map<string, Listed>();
    const counted = new Set<string>();
    const counting: Promise<void>[] = [];
    for (const t of [...unsized, ...recount]) {
      const i = unsized.indexOf(t);
      const row = i < 0 ? undefined : rows[i]!.value;
      if (typeof row === "number") sizes.set(t, { count: row, exact: false });
      else {
        counted.add(t);
        counting.push(
          this.#countListed(t).then((count) => {
            sizes.set(t, { count, exact: true });
          }),
        );
      }
    }
    // Counting is the exception (a store from before 0.8, or a refusal to confirm): the common
    // case answers without an await.
    if (counting.length === 0) return { sizes, counted };
    return Promise.all(counting).then(() => ({ sizes, counted }));
  }

  // How many of `target`'s condition records are in the active list, counted one by one.
  // Listed and counted inside the guard: a busy store's retry starts over.
  #countListed(target: string): Promise<number> {
    return guard(async () => {
      let count = 0;
      for await (const { value } of this.#kv.list({ prefix: condPrefix(target) })) {
        const condition = decodeCondition(value);
        if (condition && inActiveList(condition.state)) count++;
      }
      return count;
    });
  }

  /**
   * The records of the `wanted` conditions by id (`undefined`: never raised): from the cache, at
   * once when every one is there (the common case: no read, no await), or read: those of an id
   * read afresh (in `unknown`) or not known in full, all at once when few (`filled`: the ids read
   * so, now known in full).
   */
  #conditionsOf(wanted: Map<string, Wanted>, unknown: readonly string[]): Known | Promise<Known> {
    const conditions = new Map<string, Condition | undefined>();
    for (const [id, w] of wanted) {
      const cached = unknown.includes(w.target) ? undefined : this.#conditions.get(w.target, w.key);
      if (cached === undefined) return this.#readKnown(wanted, unknown);
      conditions.set(id, cached ?? undefined);
    }
    return { conditions, filled: new Set() };
  }

  async #readKnown(wanted: Map<string, Wanted>, unknown: readonly string[]): Promise<Known> {
    const stale = new Set<string>();
    for (const w of wanted.values()) {
      if (unknown.includes(w.target) || this.#conditions.get(w.target, w.key) === undefined) {
        stale.add(w.target);
      }
    }
    const filled = await this.#fillConditions(stale);
    const unread = [...wanted].filter(([, w]) => stale.has(w.target) && !filled.has(w.target));
    const reread = await this.#readConditions(unread.map(([, w]) => w.kvKey));
    const known = this.#cached(wanted, filled);
    unread.forEach(([id], i) => known.conditions.set(id, reread[i]));
    return known;
  }

  #cached(wanted: Map<string, Wanted>, filled: Set<string>): Known {
    const conditions = new Map<string, Condition | undefined>();
    for (const [id, w] of wanted) {
      conditions.set(id, this.#conditions.get(w.target, w.key) ?? undefined);
    }
    return { conditions, filled };
  }

  // The condition records at `keys`, in order (`undefined`: never raised).
  async #readConditions(keys: Deno.KvKey[]): Promise<(Condition | undefined)[]> {
    const reads: Promise<Deno.KvEntryMaybe<unknown>[]>[] = [];
    for (let i = 0; i < keys.length; i += MAX_READ) {
      reads.push(guard(() => this.#kv.getMany(keys.slice(i, i + MAX_READ))));
    }
    return (await Promise.all(reads)).flat().map((e) => decodeCondition(e.value));
  }

  // Reads every condition record of `targets` with few enough of them into the cache (those
  // ids are then complete); returns the ids read so.
  async #fillConditions(targets: ReadonlySet<string>): Promise<Set<string>> {
    const filled = new Set<string>();
    await Promise.all([...targets].map(async (target) => {
      const entries = await guard(() =>
        Array.fromAsync(this.#kv.list({ prefix: condPrefix(target) }, {
          limit: LISTED_CONDITIONS + 1,
        }))
      );
      if (entries.length > LISTED_CONDITIONS) return;
      this.#conditions.fill(target, entries.flatMap((e) => decodeCondition(e.value) ?? []));
      filled.add(target);
    }));
    return filled;
  }

  // Adds a feed entry per changed id to `op`, under each bucket's checked head; returns the new
  // head of each bucket written.
  #feed(
    op: Deno.AtomicOperation,
    heads: Map<number, Deno.KvEntryMaybe<unknown> | undefined>,
    changed: [target: string, seq: number][],
  ): Map<number, number> {
    const written = new Map<number, number>();
    for (const [target, seq] of changed) {
      const b = bucketOf(target);
      let n = written.get(b);
      if (n === undefined) {
        const head = heads.get(b)!;
        op.check(head);
        n = typeof head.value === "number" ? head.value : 0;
      }
      written.set(b, ++n);
      op.set(feedKey(b, n), { target, seq }, { expireIn: FEED_TTL_MS });
    }
    for (const [b, n] of written) op.set(feedHeadKey(b), n);
    return written;
  }

  #remember(target: string, seq: number, versionstamp: string): void {
    this.#heads.set(target, { key: headKey(target), value: seq, versionstamp });
    // Oldest first (insertion order): forget the least recently written ids.
    if (this.#heads.size > HEAD_CACHE) {
      const oldest = this.#heads.keys().next().value!;
      this.#heads.delete(oldest);
      this.#listed.delete(oldest);
    }
  }
}
