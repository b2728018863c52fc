/**
 * Shelvings end by themselves: each end is kept in the store with the shelving, so whichever
 * instance runs when it is due ends it (the one that shelved wakes at the time; every instance
 * also looks at start and every {@linkcode SHELVING_SCAN_MS}). Ending is an `expire` change
 * checked against the condition's state, so of instances racing, one entry is written; an end
 * whose shelving is already over (unshelved, cleared, shelved again for longer) just goes.
 *
 * @module
 */
import { type Clock, DueLoop, InvalidInput } from "../core/mod.ts";
import type { ShelvingEnd } from "../store/mod.ts";

/** Longest pause between two looks for ends written by other instances. */
export const SHELVING_SCAN_MS = 60_000;

/** Ends read per page, and pages per look at most. */
const PAGE = 50;
const MAX_PAGES = 20;

/** The ends of shelvings in the store, as ending them needs. */
export interface ShelvingRecords {
  /** Up to `limit` shelvings ending at or before `now`, earliest first. */
  shelvingsDue(now: number, limit: number): Promise<ShelvingEnd[]>;
  /** When the earliest shelving ending after `now` ends, if any. */
  nextShelvingEnd(now: number): Promise<number | undefined>;
  /** Forgets an end, unless someone did first. */
  removeShelvingEnd(end: ShelvingEnd): Promise<boolean>;
}

/** Ends due shelvings with `expire` (the hub's change, the one state path). */
export class ShelvingEnds {
  readonly #loop: DueLoop;
  readonly #store: ShelvingRecords;
  readonly #expire: (target: string, key: string) => Promise<unknown>;
  readonly #onError: (error: unknown, target?: string) => void;
  #state: "idle" | "running" | "stopped" = "idle";
  /** Overdue shelvings being ended (`id\nkey`): one each, however many reads find them. */
  readonly #overdue = new Map<string, Promise<boolean>>();

  constructor(
    store: ShelvingRecords,
    expire: (target: string, key: string) => Promise<unknown>,
    clock: Clock,
    onError: (error: unknown, target?: string) => void,
  ) {
    this.#store = store;
    this.#expire = expire;
    this.#onError = onError;
    this.#loop = new DueLoop(clock, SHELVING_SCAN_MS, {
      run: (now) => this.#run(now),
      next: (now) => store.nextShelvingEnd(now),
    }, onError);
  }

  /** Looks now (ends missed while no instance ran), then when each end is due. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#state = "running";
    this.#loop.start();
  }

  /** Stops looking for good; waits for a look, and overdue ends, in progress. */
  async stop(): Promise<void> {
    this.#state = "stopped";
    await Promise.all([this.#loop.stop(), ...this.#overdue.values()]);
  }

  /** A shelving written here ends at `until`: look then (started now if it wasn't). */
  shelved(until: number): void {
    this.start();
    this.#loop.wake(until);
  }

  /** Ends a shelving found past its end (nothing stored says when it ends). */
  overdue(target: string, key: string): void {
    const id = `${target}\n${key}`;
    if (this.#state === "stopped" || this.#overdue.has(id)) return;
    const ending = this.#end({ target, key, until: 0, revision: "" }, false)
      .finally(() => this.#overdue.delete(id));
    this.#overdue.set(id, ending);
  }

  /** Ends every shelving due now; how many ends were dealt with. */
  scan(): Promise<number> {
    return this.#loop.scan();
  }

  async #run(now: number): Promise<number> {
    let handled = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const due = await this.#store.shelvingsDue(now, PAGE);
      const done = await Promise.all(due.map((end) => this.#end(end)));
      handled += done.filter((d) => d).length;
      // A full page that could not be dealt with (the store failing) would only be read again.
      if (due.length < PAGE || !done.some((d) => d)) break;
    }
    return handled;
  }

  // Expires the condition unless its shelving is over already, then forgets the end (if stored).
  async #end(end: ShelvingEnd, stored = true): Promise<boolean> {
    try {
      await this.#expire(end.target, end.key);
    } catch (error) {
      if (!(error instanceof InvalidInput)) {
        this.#onError(error, end.target); // kept: the next look tries again
        return false;
      }
    }
    if (!stored) return true;
    try {
      return await this.#store.removeShelvingEnd(end);
    } catch (error) {
      this.#onError(error, end.target);
      return false;
    }
  }
}
