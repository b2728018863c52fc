/**
 * Who is online across isolates and instances. Each isolate publishes its sessions-per-id
 * counts to KV (debounced after changes, refreshed periodically, expiring if the isolate dies);
 * readers merge every fresh snapshot with their own live registry.
 *
 * @module
 */
import type { AlarmStore, PresenceRecord } from "../store/mod.ts";

/** This isolate's sessions, as presence reads them. */
export interface LocalSessions {
  /** Every id with at least one session here. */
  ids(): Iterable<string>;
  /** Sessions of `id` here. */
  countOf(id: string): number;
}

/** How often a snapshot is rewritten even without changes. */
export const PRESENCE_REFRESH_MS = 10_000;
/** Snapshots older than this are ignored (and expire from KV). */
const PRESENCE_TTL_MS = 3 * PRESENCE_REFRESH_MS;
/** Delay that batches bursts of connects and disconnects into one write. */
const DEBOUNCE_MS = 250;
/** Ids per KV value: 400 ids of up to 128 characters stay under the 64 KiB value limit. */
const IDS_PER_CHUNK = 400;

/** Publishes this isolate's presence and reads everyone's. */
export class Presence {
  readonly #store: AlarmStore;
  readonly #local: LocalSessions;
  readonly #instance: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #chunks = 0;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(
    store: AlarmStore,
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

  /** Sessions per id over every fresh snapshot, with this isolate's counts live. */
  async counts(): Promise<Map<string, number>> {
    return (await this.snapshot()).counts;
  }

  /**
   * Sessions per id, and how many isolates (this one included) have a fresh snapshot. With
   * one shared KV database every isolate sees the others; with a store per instance (a Deno
   * Deploy app without a KV database assigned) each one only ever sees itself.
   */
  async snapshot(): Promise<{ counts: Map<string, number>; instances: number }> {
    const fresh = this.#now() - PRESENCE_TTL_MS;
    const records = await this.#store.listPresence();
    const counts = new Map<string, number>();
    const instances = new Set([this.#instance]);
    for (const id of this.#local.ids()) counts.set(id, this.#local.countOf(id));
    for (const { instance, record } of records) {
      if (instance === this.#instance || !(record.at >= fresh)) continue;
      instances.add(instance);
      for (const [id, n] of record.ids) counts.set(id, (counts.get(id) ?? 0) + n);
    }
    return { counts, instances: instances.size };
  }

  /** Stops publishing and removes this isolate's snapshot. */
  async stop(): Promise<void> {
    clearInterval(this.#refresh);
    clearTimeout(this.#debounce);
    this.#refresh = this.#debounce = undefined;
    await this.#store.removePresence(this.#instance, this.#chunks);
  }

  #flushSoon(delay: number): void {
    if (this.#debounce !== undefined) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.flush().catch(this.#onError);
    }, delay);
  }

  /** Writes this isolate's snapshot now. */
  async flush(): Promise<void> {
    const ids: [string, number][] = [];
    for (const id of this.#local.ids()) ids.push([id, this.#local.countOf(id)]);
    const chunks = Math.max(1, Math.ceil(ids.length / IDS_PER_CHUNK));
    const at = this.#now();
    const records: PresenceRecord[] = [];
    for (let i = 0; i < chunks; i++) {
      records.push({ at, ids: ids.slice(i * IDS_PER_CHUNK, (i + 1) * IDS_PER_CHUNK) });
    }
    await this.#store.putPresence(this.#instance, records, PRESENCE_TTL_MS, this.#chunks);
    this.#chunks = chunks;
  }
}
