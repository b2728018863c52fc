/**
 * Discovery: whether other isolates share this isolate's store. Alone, nothing but this isolate
 * writes the log, so it watches no ids: every alarm reaches its sessions from the publish itself,
 * and a watch would only wake on its own commits. With others, the store's change feed is
 * followed. Isolates find each other through presence and an arrival record; why neither of two
 * can miss the other is in docs/architecture.md.
 *
 * @module
 */
import { type Backoff, followStream } from "../core/mod.ts";
import type { Presence } from "./presence.ts";

/** Pauses before an arrival watch that ended is opened again. */
const ARRIVALS_BACKOFF: Backoff = { firstMs: 100, maxMs: 5000 };

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
  /** Aborted by stop: ends the arrival watch. */
  #run: AbortController | undefined;

  constructor(store: Arrivals, presence: Presence, instance: string, hooks: DiscoveryHooks) {
    this.#store = store;
    this.#presence = presence;
    this.#instance = instance;
    this.#hooks = hooks;
  }

  /** Runs the four steps; tells `onAlone` if nobody else was found, and keeps listening. */
  async start(): Promise<void> {
    await this.#presence.flush();
    const run = this.#run = new AbortController();
    let watching!: () => void;
    const opened = new Promise<void>((resolve) => watching = resolve);
    let first = true;
    void followStream(() => this.#store.watchArrivals(), (arrival) => {
      // The record as it was before we watched: an isolate that arrived then is found in step 4
      // (its presence came first). Taken as a newcomer, our own previous run's record would be.
      if (first) return (first = false, watching());
      this.#seen(arrival);
    }, {
      signal: run.signal,
      backoff: ARRIVALS_BACKOFF,
      onError: (error) => {
        // Without the arrival watch a newcomer could go unseen: watch everything instead.
        this.#hooks.onError(error);
        this.#join();
        watching();
      },
    });
    await opened;
    await this.#store.announceArrival(this.#instance);
    if (!this.#joined && (await this.#presence.snapshot(true)).instances > 1) this.#join();
    if (!this.#joined) this.#hooks.onAlone();
  }

  /** Stops listening. */
  stop(): void {
    this.#run?.abort();
    this.#run = undefined;
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
