/**
 * Following the store's change feed: one watch of the feed's bucket heads, whatever the number
 * of ids, and this isolate's own cursor per bucket. For the entries past the cursor it tells its
 * owner that an id has alarms up to a seq (once per id per page read), or that a message
 * arrived. When entries expired before they were read, or when following (re)starts, it asks the
 * owner to re-read its ids' heads instead. A watch that ends or fails is opened again; a failed
 * read is retried with backoff.
 *
 * @module
 */
import { type Backoff, followStream, pauseAfter, sleep, StoreError } from "../core/mod.ts";
import type { FeedEntry, RelayedMessage } from "../store/mod.ts";

/** The change feed, as a follower reads it. */
export interface FeedReader {
  /** The bucket heads as they change, starting with their current values. */
  watchFeed(): ReadableStream<number[]>;
  /** Entries of `bucket` numbered after `after`, in order, a page at most. */
  readFeed(bucket: number, after: number): Promise<FeedEntry[]>;
}

/** What a {@linkcode FeedFollower} tells its owner. */
export interface FeedHandlers {
  /** `target` has alarms up to `seq` in the log. */
  onAlarm(target: string, seq: number): void;
  /** A message for the sessions of `target`, written by another instance. */
  onMessage(target: string, message: RelayedMessage): void;
  /**
   * The feed can't say what changed in `bucket` (`undefined`: in any bucket) since the last
   * entry read: re-read the heads of the ids held here. Called once when following starts.
   */
  onResync(bucket: number | undefined): Promise<void>;
  onError(error: unknown): void;
}

/** Pauses before a failed read, watch or catch-up is tried again: from 0.1 s, doubling to 5 s. */
export const FEED_BACKOFF: Backoff = { firstMs: 100, maxMs: 5000 };

/** Follows the feed from when it is started until it is stopped. */
export class FeedFollower {
  readonly #store: FeedReader;
  readonly #instance: string;
  readonly #handlers: FeedHandlers;
  /** Aborted by stop: ends this run's watch, reads, retries and pauses. */
  #run: AbortController | undefined;
  #cursors: number[] | undefined;

  constructor(store: FeedReader, instance: string, handlers: FeedHandlers) {
    this.#store = store;
    this.#instance = instance;
    this.#handlers = handlers;
  }

  /** Whether the feed is being followed. */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Starts following from the feed's current heads (the owner re-reads its ids' heads). */
  start(): void {
    if (this.#run) return;
    const run = this.#run = new AbortController();
    this.#cursors = undefined;
    // Ended or failed: watched again after a pause, from the same cursors.
    void followStream(() => this.#store.watchFeed(), (heads) => this.#follow(heads, run.signal), {
      signal: run.signal,
      backoff: FEED_BACKOFF,
      onError: (error) => this.#handlers.onError(error),
    });
  }

  /** Stops following. */
  stop(): void {
    this.#run?.abort();
    this.#run = undefined;
  }

  // Reads every bucket up to `heads` from the cursors, and moves them.
  async #follow(heads: number[], signal: AbortSignal): Promise<void> {
    if (!this.#cursors) {
      // Everything before these heads is covered by re-reading the ids' heads after them.
      this.#cursors = heads.slice();
      await this.#retrying(() => this.#handlers.onResync(undefined), signal);
      return;
    }
    const cursors = this.#cursors;
    for (let b = 0; b < heads.length && !signal.aborted; b++) {
      let stalls = 0;
      while (cursors[b]! < heads[b]! && !signal.aborted) {
        const after = cursors[b]!;
        // To the end, not just to the head this event names: while a page is read the watch
        // queues an event per change, each one entry further, and those become no-ops instead
        // of a read each (on KV Connect, tens of ms apiece: a flood's backlog took seconds).
        const entries = await this.#retrying(
          () => this.#store.readFeed(b, after),
          signal,
        );
        if (signal.aborted) return;
        if (entries[0]?.n !== after + 1) {
          await this.#retrying(() => this.#handlers.onResync(b), signal); // expired unread
        }
        this.#deliver(entries);
        const next = entries.at(-1)?.n ?? heads[b]!;
        if (next > after) {
          cursors[b] = next;
          continue;
        }
        // A read that moved nothing while behind (a broken store, or a bug): reported, and
        // retried after a growing pause rather than at once.
        this.#handlers.onError(
          new StoreError(`Feed bucket ${b} read after ${after} returned nothing newer`),
        );
        await sleep(pauseAfter(FEED_BACKOFF, ++stalls), signal);
      }
    }
  }

  // A page's alarms are told once per id, up to its last seq there: the owner reads the log
  // from its cursor up to it in pages, instead of once per entry (which could not keep up with
  // another instance's flood). Messages, which the log doesn't hold, are told one by one.
  #deliver(entries: readonly FeedEntry[]): void {
    const latest = new Map<string, number>();
    for (const entry of entries) {
      if ("seq" in entry) {
        latest.set(entry.target, Math.max(entry.seq, latest.get(entry.target) ?? 0));
      } else if (entry.message.origin !== this.#instance) {
        this.#handlers.onMessage(entry.target, entry.message);
      }
    }
    for (const [target, seq] of latest) this.#handlers.onAlarm(target, seq);
  }

  // Runs `fn` until it succeeds or following stops, with growing pauses between attempts.
  async #retrying<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let failures = 1;; failures++) {
      try {
        return await fn();
      } catch (error) {
        if (signal.aborted) throw error;
        this.#handlers.onError(error);
        await sleep(pauseAfter(FEED_BACKOFF, failures), signal);
      }
    }
  }
}
