/**
 * Who is online across isolates and instances. Each isolate publishes its sessions-per-id
 * counts to KV (debounced after changes, refreshed periodically, expiring if the isolate dies);
 * readers merge every fresh snapshot with their own live registry.
 *
 * @module
 */
import type { Registry } from "./registry.ts";
import { guard } from "./store.ts";

/** How often a snapshot is rewritten even without changes. */
export const PRESENCE_REFRESH_MS = 10_000;
/** Snapshots older than this are ignored (and expire from KV). */
const PRESENCE_TTL_MS = 3 * PRESENCE_REFRESH_MS;
/** Delay that batches bursts of connects and disconnects into one write. */
const DEBOUNCE_MS = 250;
/** Ids per KV value: 400 ids of up to 128 characters stay under the 64 KiB value limit. */
const IDS_PER_CHUNK = 400;

interface Snapshot {
  at: number;
  ids: [string, number][];
}

/** Publishes this isolate's presence and reads everyone's. */
export class Presence {
  readonly #kv: Deno.Kv;
  readonly #registry: Registry;
  readonly #instance: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown) => void;
  #chunks = 0;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(
    kv: Deno.Kv,
    registry: Registry,
    instance: string,
    now: () => number,
    onError: (error: unknown) => void,
  ) {
    this.#kv = kv;
    this.#registry = registry;
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
    return await guard(async () => {
      const counts = new Map<string, number>();
      const instances = new Set([this.#instance]);
      for (const id of this.#registry.ids()) counts.set(id, this.#registry.sessionsOf(id).size);
      for await (const { key, value } of this.#kv.list<Snapshot>({ prefix: ["presence"] })) {
        if (key[1] === this.#instance || !(value.at >= fresh)) continue;
        instances.add(String(key[1]));
        for (const [id, n] of value.ids) counts.set(id, (counts.get(id) ?? 0) + n);
      }
      return { counts, instances: instances.size };
    });
  }

  /** Stops publishing and removes this isolate's snapshot. */
  async stop(): Promise<void> {
    clearInterval(this.#refresh);
    clearTimeout(this.#debounce);
    this.#refresh = this.#debounce = undefined;
    const deletes: Promise<void>[] = [];
    for (let i = 0; i < this.#chunks; i++) {
      deletes.push(this.#kv.delete(["presence", this.#instance, i]));
    }
    await Promise.all(deletes).catch(() => {});
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
    for (const id of this.#registry.ids()) ids.push([id, this.#registry.sessionsOf(id).size]);
    const chunks = Math.max(1, Math.ceil(ids.length / IDS_PER_CHUNK));
    const at = this.#now();
    // One write per chunk: all of them together could pass an atomic operation's size limit.
    await guard(() => {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < chunks; i++) {
        const value: Snapshot = { at, ids: ids.slice(i * IDS_PER_CHUNK, (i + 1) * IDS_PER_CHUNK) };
        writes.push(
          this.#kv.set(["presence", this.#instance, i], value, { expireIn: PRESENCE_TTL_MS }),
        );
      }
      for (let i = chunks; i < this.#chunks; i++) {
        writes.push(this.#kv.delete(["presence", this.#instance, i]));
      }
      return Promise.all(writes);
    });
    this.#chunks = chunks;
  }
}
