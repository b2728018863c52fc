/**
 * Who is online across isolates and instances. Each isolate publishes its sessions-per-id
 * counts to the store: a liveness record rewritten every `PRESENCE_REFRESH_MS` (expiring if the
 * isolate dies), and the counts in chunks of ids, each id always in the same chunk, so a change
 * rewrites only the chunks it touched. Readers merge every live isolate's counts with their own
 * live registry, from a snapshot at most `SNAPSHOT_MS` old.
 *
 * @module
 */
import { fnv1a } from "../core/mod.ts";
import type { PresenceRecord, PresenceSnapshot } from "../store/mod.ts";

/** Presence records in the store, as presence uses them. */
export interface PresenceRecords {
  /**
   * Writes `instance`'s liveness record (expiring after `ttlMs`), the chunks in `writes`
   * (expiring after `chunkTtlMs`) and the deletion of those in `deletes`.
   */
  putPresence(
    instance: string,
    alive: { at: number; chunks: number },
    ttlMs: number,
    writes: ReadonlyMap<number, PresenceRecord>,
    deletes: readonly number[],
    chunkTtlMs: number,
  ): Promise<void>;
  /** Removes `instance`'s presence (its liveness record and first `chunks` chunks). */
  removePresence(instance: string, chunks: number): Promise<void>;
  /** Every isolate's presence with a liveness record. */
  listPresence(): Promise<PresenceSnapshot[]>;
}

/** This isolate's sessions, as presence reads them. */
export interface LocalSessions {
  /** Every id with at least one session here. */
  ids(): Iterable<string>;
  /** Sessions of `id` here. */
  countOf(id: string): number;
}

/** How often the liveness record is rewritten. */
export const PRESENCE_REFRESH_MS = 10_000;
/** Isolates whose liveness record is older than this are ignored (and it expires). */
const PRESENCE_TTL_MS = 3 * PRESENCE_REFRESH_MS;
/** Chunks expire after this; an unchanged chunk is rewritten at half of it. */
const CHUNK_TTL_MS = 3600_000;
/** Delay that batches bursts of connects and disconnects into one write. */
const DEBOUNCE_MS = 250;
/**
 * Ids per chunk on average; a chunk holds up to twice that (400 ids of up to 128 characters)
 * under KV's 64 KiB value limit, which hashing stays far from.
 */
const IDS_PER_CHUNK = 200;
/** How long a read of the others' presence serves later reads. */
export const SNAPSHOT_MS = 1000;

/** Sessions per id, and how many isolates (this one included) are live. */
export interface PresenceView {
  counts: Map<string, number>;
  instances: number;
}

/** Publishes this isolate's presence and reads everyone's. */
export class Presence {
  readonly #store: PresenceRecords;
  readonly #local: LocalSessions;
  readonly #instance: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  /** Each chunk as last written (JSON) and when. */
  #written: { json: string; at: number }[] = [];
  /** The last flush started: the next waits for it. */
  #flushing: Promise<void> = Promise.resolve();
  #others: { at: number; read: Promise<PresenceSnapshot[]> } | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #refresh: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(
    store: PresenceRecords,
    local: LocalSessions,
    instance: string,
    now: () => number,
    onError: (error: unknown) => void,
  ) {
    this.#store = store;
    this.#local = local;
    this.#instance = instance;
    this.#now = now;
    this.#onError = onError;
  }

  /** Publishes a first snapshot now and starts the periodic refresh. */
  start(): void {
    this.#flushSoon(0);
    this.#refresh ??= setInterval(() => this.#flushSoon(0), PRESENCE_REFRESH_MS);
  }

  /** Call after a session opened or closed here. */
  changed(): void {
    this.#flushSoon(DEBOUNCE_MS);
  }

  /** Sessions per id over every live isolate, with this isolate's counts live. */
  async counts(): Promise<Map<string, number>> {
    return (await this.snapshot()).counts;
  }

  /**
   * Sessions per id, and how many isolates (this one included) are live. With one shared KV
   * database every isolate sees the others; with a store per instance (a Deno Deploy app
   * without a KV database assigned) each one only ever sees itself. `fresh` reads the store
   * now instead of from a snapshot up to `SNAPSHOT_MS` old.
   */
  async snapshot(fresh = false): Promise<PresenceView> {
    // The cache's age on the monotonic clock: it saves reads, it says nothing about liveness.
    const tick = performance.now();
    if (fresh || !this.#others || tick - this.#others.at >= SNAPSHOT_MS) {
      const read = this.#store.listPresence();
      this.#others = { at: tick, read };
      read.catch(() => this.#others?.read === read && (this.#others = undefined));
    }
    const others = await this.#others.read;
    const now = this.#now();
    const counts = new Map<string, number>();
    const instances = new Set([this.#instance]);
    for (const id of this.#local.ids()) counts.set(id, this.#local.countOf(id));
    for (const { instance, at, ids } of others) {
      if (instance === this.#instance || !(at >= now - PRESENCE_TTL_MS)) continue;
      instances.add(instance);
      for (const [id, n] of ids) counts.set(id, (counts.get(id) ?? 0) + n);
    }
    return { counts, instances: instances.size };
  }

  /** Stops publishing and removes this isolate's presence. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#refresh);
    clearTimeout(this.#debounce);
    this.#refresh = this.#debounce = undefined;
    await this.#store.removePresence(this.#instance, this.#written.length);
  }

  #flushSoon(delay: number): void {
    if (this.#debounce !== undefined || this.#stopped) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.flush().catch(this.#onError);
    }, delay);
  }

  /**
   * Writes this isolate's liveness record now, with the chunks that changed (or are due for a
   * rewrite before they expire). Flushes go one after another: two at once could leave the store
   * with the older record while this isolate believes the newer one written.
   */
  flush(): Promise<void> {
    const next = this.#flushing.catch(() => {}).then(() => this.#flushOnce());
    this.#flushing = next;
    return next;
  }

  async #flushOnce(): Promise<void> {
    const ids = [...this.#local.ids()].sort();
    const chunks = 2 ** Math.max(0, Math.ceil(Math.log2(ids.length / IDS_PER_CHUNK)));
    const records: PresenceRecord[] = Array.from({ length: chunks }, () => ({ ids: [] }));
    for (const id of ids) records[fnv1a(id) % chunks]!.ids.push([id, this.#local.countOf(id)]);
    const at = this.#now();
    const written = records.map((record) => ({ json: JSON.stringify(record.ids), at }));
    const writes = new Map<number, PresenceRecord>();
    records.forEach((record, i) => {
      const before = this.#written[i];
      if (before?.json === written[i]!.json && at - before.at < CHUNK_TTL_MS / 2) {
        written[i] = before;
      } else writes.set(i, record);
    });
    const deletes = [];
    for (let i = chunks; i < this.#written.length; i++) deletes.push(i);
    await this.#store.putPresence(
      this.#instance,
      { at, chunks },
      PRESENCE_TTL_MS,
      writes,
      deletes,
      CHUNK_TTL_MS,
    );
    this.#written = written;
  }
}
