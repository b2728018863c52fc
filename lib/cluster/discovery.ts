/**
 * Discovery: whether other isolates share this isolate's store. Alone, nothing but this isolate
 * writes the log, so it watches no ids: every alarm reaches its sessions from the publish itself,
 * and a watch would only wake on its own commits. With others, the store's change feed is
 * followed. Isolates find each other through presence and an arrival record; why neither of two
 * can miss the other is in docs/architecture.md.
 *
 * @module
 */
import type { Presence } from "./presence.ts";

/** The arrival record, as discovery uses it. */
export interface Arrivals {
  /** The instance that announced itself last, as it changes, starting with the current one. */
  watchArrivals(): ReadableStream<string | undefined>;
  /** Says that `instance` has started, to every isolate watching arrivals. */
  announceArrival(instance: string): Promise<void>;
}

/** What {@linkcode Discovery} tells its owner. */
export interface DiscoveryHooks {
  /** This isolate is alone (told at most once, before any `onJoined`). */
  onAlone(): void;
  /** Another isolate shares the store (told once). */
  onJoined(): void;
  onError(error: unknown): void;
}

/** Finds out, and keeps finding out, whether other isolates share the store. */
export class Discovery {
  readonly #store: Arrivals;
  readonly #presence: Presence;
  readonly #instance: string;
  readonly #hooks: DiscoveryHooks;
  #joined = false;
  #reader: ReadableStreamDefaultReader<string | undefined> | undefined;

  constructor(store: Arrivals, presence: Presence, instance: string, hooks: DiscoveryHooks) {
    this.#store = store;
    this.#presence = presence;
    this.#instance = instance;
    this.#hooks = hooks;
  }

  /** Runs the four steps; tells `onAlone` if nobody else was found, and keeps listening. */
  async start(): Promise<void> {
    await this.#presence.flush();
    const reader = this.#store.watchArrivals().getReader();
    this.#reader = reader;
    // The record as it was before we watched: an isolate that arrived then is found in step 4
    // (its presence came first). Taken as a newcomer, our own previous run's record would be.
    await reader.read();
    await this.#store.announceArrival(this.#instance);
    this.#listen(reader);
    if ((await this.#presence.snapshot(true)).instances > 1) this.#join();
    if (!this.#joined) this.#hooks.onAlone();
  }

  /** Stops listening. */
  stop(): void {
    this.#reader?.cancel().catch(() => {});
    this.#reader = undefined;
  }

  #listen(reader: ReadableStreamDefaultReader<string | undefined>): void {
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

  #seen(arrival: string | undefined): void {
    if (arrival !== undefined && arrival !== this.#instance) this.#join();
  }

  #join(): void {
    if (this.#joined) return;
    this.#joined = true;
    this.stop();
    this.#hooks.onJoined();
  }
}
