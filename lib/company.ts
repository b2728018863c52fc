/**
 * Whether other isolates share this isolate's KV database. Alone, nothing but this isolate
 * writes the log, so it needs no KV watch on the ids it serves: every alarm reaches its sessions
 * from the publish itself, and a watch would only wake on our own commits (about 250 µs of CPU
 * each on SQLite, more than the commit's own work). With company, every id is watched.
 *
 * Isolates find each other through presence snapshots and an `["arrival"]` key that each one
 * overwrites on start while watching it. Starting is: (1) write a presence snapshot, (2) watch
 * `["arrival"]`, (3) write our id there, (4) list presence. Of two isolates, the one whose step 4
 * comes second sees the other's snapshot; the other was already watching at that isolate's step
 * 3 and sees its arrival. A false "company" (a crashed isolate's snapshot, until it expires)
 * costs only the watches.
 *
 * @module
 */
import type { Presence } from "./presence.ts";
import { guard } from "./kv_util.ts";

const ARRIVAL_KEY = ["arrival"];

/** What {@linkcode Company} tells its owner. */
export interface CompanyHooks {
  /** This isolate is alone (told at most once, before any `onJoined`). */
  onAlone(): void;
  /** Another isolate shares the store (told once). */
  onJoined(): void;
  onError(error: unknown): void;
}

/** Finds out, and keeps finding out, whether other isolates share the store. */
export class Company {
  readonly #kv: Deno.Kv;
  readonly #presence: Presence;
  readonly #instance: string;
  readonly #hooks: CompanyHooks;
  #joined = false;
  #reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]> | undefined;

  constructor(kv: Deno.Kv, presence: Presence, instance: string, hooks: CompanyHooks) {
    this.#kv = kv;
    this.#presence = presence;
    this.#instance = instance;
    this.#hooks = hooks;
  }

  /** Runs the four steps; tells `onAlone` if nobody else was found, and keeps listening. */
  async start(): Promise<void> {
    await this.#presence.flush();
    const reader = this.#kv.watch([ARRIVAL_KEY]).getReader();
    this.#reader = reader;
    this.#seen((await reader.read()).value);
    await guard(() => this.#kv.set(ARRIVAL_KEY, this.#instance));
    this.#listen(reader);
    if ((await this.#presence.snapshot()).instances > 1) this.#join();
    if (!this.#joined) this.#hooks.onAlone();
  }

  /** Stops listening. */
  stop(): void {
    this.#reader?.cancel().catch(() => {});
    this.#reader = undefined;
  }

  #listen(reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>): void {
    (async () => {
      while (!this.#joined) {
        const { done, value } = await reader.read();
        if (done) return;
        this.#seen(value);
      }
    })().catch((error) => {
      // Without the arrival watch a newcomer could go unseen: watch everything instead.
      this.#hooks.onError(error);
      this.#join();
    });
  }

  #seen(entries: Deno.KvEntryMaybe<unknown>[] | undefined): void {
    const arrival = entries?.[0]?.value;
    if (typeof arrival === "string" && arrival !== this.#instance) this.#join();
  }

  #join(): void {
    if (this.#joined) return;
    this.#joined = true;
    this.stop();
    this.#hooks.onJoined();
  }
}
