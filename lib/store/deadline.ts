/**
 * Every KV call with a deadline. KV Connect (Deno Deploy, a self-hosted denokv) retries network
 * errors without end, so a call can hang for as long as the database is unreachable; past the
 * deadline the caller gets an error instead (the store's `guard` makes it a `StoreError`, which
 * the API answers with 503). The call itself may still complete later: every write the store
 * makes is checked or idempotent, so that does no harm.
 *
 * @module
 */

/** The part of `Deno.Kv` the store uses; a fault-injecting test double implements the same. */
export type KvLike = Pick<
  Deno.Kv,
  "get" | "getMany" | "list" | "set" | "delete" | "atomic" | "watch" | "close"
>;

/** A {@linkcode KvLike} whose calls fail after `timeoutMs` instead of hanging. */
export class DeadlineKv implements KvLike {
  readonly #kv: KvLike;
  readonly #timeoutMs: number;
  /** Calls not answered yet; one sweeper fails those past their deadline. */
  readonly #pending = new Set<{ deadline: number; reject: (error: Error) => void }>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(kv: KvLike, timeoutMs: number) {
    this.#kv = kv;
    this.#timeoutMs = timeoutMs;
  }

  get<T = unknown>(
    key: Deno.KvKey,
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<Deno.KvEntryMaybe<T>> {
    return this.#within(this.#kv.get<T>(key, options));
  }

  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    return this.#within(this.#kv.getMany<T>(keys, options));
  }

  set(
    key: Deno.KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<Deno.KvCommitResult> {
    return this.#within(this.#kv.set(key, value, options));
  }

  delete(key: Deno.KvKey): Promise<void> {
    return this.#within(this.#kv.delete(key));
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): Deno.KvListIterator<T> {
    const iterator = this.#kv.list<T>(selector, options);
    const next = iterator.next.bind(iterator);
    iterator.next = () => this.#within(next());
    return iterator;
  }

  atomic(): Deno.AtomicOperation {
    const op = this.#kv.atomic();
    const commit = op.commit.bind(op);
    op.commit = () => this.#within(commit());
    return op;
  }

  watch<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
    options?: { raw?: boolean },
  ): ReadableStream<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    return this.#kv.watch<T>(keys, options);
  }

  close(): void {
    this.#kv.close();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  // One interval timer for every call in flight rather than a timer per call: a commit is on
  // the publish path.
  #within<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { deadline: performance.now() + this.#timeoutMs, reject };
      this.#pending.add(entry);
      if (this.#sweeper === undefined) {
        const sweeper = setInterval(() => this.#sweep(), Math.min(100, this.#timeoutMs / 4));
        Deno.unrefTimer(sweeper);
        this.#sweeper = sweeper;
      }
      call.then((value) => {
        this.#settled(entry);
        resolve(value);
      }, (error) => {
        this.#settled(entry);
        reject(error);
      });
    });
  }

  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#pending) {
      if (entry.deadline > now) continue;
      this.#settled(entry);
      entry.reject(new Error(`The store did not answer within ${this.#timeoutMs} ms`));
    }
  }

  // The sweeper runs only while calls are in flight.
  #settled(entry: { deadline: number; reject: (error: Error) => void }): void {
    this.#pending.delete(entry);
    if (this.#pending.size > 0) return;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
