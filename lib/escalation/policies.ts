/**
 * This instance's copy of the escalation policies, so the publish path matches an alarm with an
 * in-memory lookup and no KV read. It is loaded at start and reloaded whenever the policy version
 * in the store changes (a KV watch, which also hears other instances' changes); this instance's
 * own changes apply at once.
 *
 * @module
 */
import {
  type Backoff,
  followStream,
  levelOf,
  type Policy,
  policyMatches,
  type Sleep,
} from "../core/mod.ts";
import type { Clock } from "../core/mod.ts";

/** Escalation policies in the store, as the cache and the API use them. */
export interface PolicyRecords {
  /** Stores `policy` (replacing one of the same name). */
  putPolicy(policy: Policy): Promise<void>;
  /** Deletes policy `name`; whether it existed. */
  deletePolicy(name: string): Promise<boolean>;
  /** Every policy. */
  listPolicies(): Promise<Policy[]>;
  /** The policy version as it changes, starting with the current one: reload on each. */
  watchPolicies(): ReadableStream<number>;
}

/** Pause before a watch that ended or failed is opened again (its first value reloads). */
const WATCH_BACKOFF: Backoff = { firstMs: 1000, maxMs: 1000 };

/** The policies, by name, as last read. */
export class PolicyCache {
  readonly #store: PolicyRecords;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  /** Sorted by name: the first match wins. */
  #policies: Policy[] = [];
  /** Aborted by stop: ends the watch and its pauses. */
  #run: AbortController | undefined;
  /** Set by stop, so a start still loading doesn't watch after it. */
  #stopped = false;
  #loaded = false;
  /** Counts this instance's own changes, so a read that overlapped one is not taken as newer. */
  #changes = 0;

  constructor(store: PolicyRecords, clock: Clock, onError: (error: unknown) => void) {
    this.#store = store;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** Loads the policies, then follows changes until {@linkcode stop} (even if loading failed). */
  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.reload();
    } finally {
      this.#follow();
    }
  }

  /** Whether the policies were read from the store at least once. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Stops following changes. */
  stop(): void {
    this.#stopped = true;
    this.#run?.abort();
    this.#run = undefined;
  }

  /** Reads every policy from the store. */
  async reload(): Promise<void> {
    for (;;) {
      const changes = this.#changes;
      const policies = await this.#store.listPolicies();
      // A change of ours committed while the list was read may be missing from it: read again.
      if (changes !== this.#changes) continue;
      this.#replace(policies);
      this.#loaded = true;
      return;
    }
  }

  /** The first policy, by name, covering an alarm of `target` with `fields`. */
  match(target: string, fields: Record<string, unknown>): Policy | undefined {
    if (this.#policies.length === 0) return undefined; // the common case: nothing to look at
    const level = levelOf(fields);
    return this.#policies.find((p) => policyMatches(p, target, level));
  }

  /** The policy named `name`, if this instance knows it. */
  get(name: string): Policy | undefined {
    return this.#policies.find((p) => p.name === name);
  }

  /** Every policy, by name. */
  get all(): readonly Policy[] {
    return this.#policies;
  }

  /** Applies this instance's own change at once (the watch confirms it later). */
  set(policy: Policy): void {
    this.#changes++;
    this.#replace([...this.#policies.filter((p) => p.name !== policy.name), policy]);
  }

  /** Forgets policy `name` at once. */
  delete(name: string): void {
    this.#changes++;
    this.#replace(this.#policies.filter((p) => p.name !== name));
  }

  #replace(policies: Policy[]): void {
    this.#policies = policies.toSorted((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  // Each version change reloads (the first value too: a change between the last load and the
  // watch's opening); a watch that ends or fails is opened again after a pause.
  #follow(): void {
    if (this.#stopped) return;
    this.#run?.abort(); // started again: one watch, not two
    const run = this.#run = new AbortController();
    const clock = this.#clock;
    const sleep: Sleep = (ms, signal) =>
      new Promise((resolve) => {
        const cancel = clock.after(ms, resolve);
        signal.addEventListener("abort", () => (cancel(), resolve()), { once: true });
      });
    void followStream(() => this.#store.watchPolicies(), () => this.reload(), {
      signal: run.signal,
      backoff: WATCH_BACKOFF,
      onError: this.#onError,
      sleep,
    });
  }
}
