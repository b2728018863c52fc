/**
 * Every KV call with a deadline. KV Connect (Deno Deploy, a self-hosted denokv) retries network
 * errors without end, so a call can hang for as long as the database is unreachable; past the
 * deadline the caller gets an error instead (the store's `guard` makes it a `StoreError`, which
 * the API answers with 503). The call itself may still complete later: every write the store
 * makes is checked or idempotent, so that does no harm. {@linkcode TimeLimit} is the clock behind
 * it, also used for whatever waits on several calls in turn (an append queued behind others).
 *
 * @module
 */

/** The part of `Deno.Kv` the store uses; a fault-injecting test double implements the same. */
export type KvLike = Pick<
  Deno.Kv,
  "get" | "getMany" | "list" | "set" | "delete" | "atomic" | "watch" | "close"
>;

/**
 * Fails what is still waiting `timeoutMs` after it started. One interval timer serves everything
 * waiting, rather than a timer each: a commit and an append are on the publish path.
 */
export class TimeLimit {
  readonly timeoutMs: number;
  readonly #waiting = new Set<Waiting>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /**
   * Calls `expire` once `timeoutMs` has passed (within a tenth of a second after), unless the
   * returned function, which says it is done, is called first.
   */
  start(expire: () => void): () => void {
    const entry = { deadline: performance.now() + this.timeoutMs, expire };
    this.#waiting.add(entry);
    if (this.#sweeper === undefined) {
      const sweeper = setInterval(() => this.#sweep(), Math.min(100, this.timeoutMs / 4));
      Deno.unrefTimer(sweeper);
      this.#sweeper = sweeper;
    }
    return () => this.#done(entry);
  }

  /** Forgets everything waiting, without expiring it. */
  stop(): void {
    this.#waiting.clear();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    const now = performance.now();
    // Insertion order is deadline order: stop at the first one still in time.
    for (const entry of this.#waiting) {
      if (entry.deadline > now) break;
      this.#done(entry);
      entry.expire();
    }
  }

  // The sweeper runs only while something waits.
  #done(entry: Waiting): void {
    this.#waiting.delete(entry);
    if (this.#waiting.size > 0) return;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

interface Waiting {
  deadline: number;
  expire: () => void;
}

/** A {@linkcode KvLike} whose calls fail after `timeoutMs` instead of hanging. */
export class TimeoutKv implements KvLike {
  readonly #kv: KvLike;
  readonly #limit: TimeLimit;

  constructor(kv: KvLike, timeoutMs: number) {
    this.#kv = kv;
    this.#limit = new TimeLimit(timeoutMs);
  }

  /** Milliseconds a call may take. */
  get timeoutMs(): number {
    return this.#limit.timeoutMs;
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
    this.#limit.stop();
  }

  /**
   * `call` (made on the KV this one wraps), failing after the deadline: the call itself runs on,
   * and KV Connect retries it until the store answers.
   */
  within<T>(call: Promise<T>): Promise<T> {
    return this.#within(call);
  }

  #within<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = this.#limit.start(() =>
        reject(new Error(`The store did not answer within ${this.#limit.timeoutMs} ms`))
      );
      call.then((value) => {
        done();
        resolve(value);
      }, (error) => {
        done();
        reject(error);
      });
    });
  }
}
