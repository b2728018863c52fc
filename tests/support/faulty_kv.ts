/**
 * A Deno KV in front of a real one that misbehaves on demand: latency, calls that hang, calls
 * that fail, watch streams that end, feed entries that are gone. It also counts every call, so
 * tests and benchmarks can say what an operation costs in KV reads and writes.
 *
 * @module
 */
import type { KvLike } from "../../lib/store/mod.ts";

/** The kinds of KV call counted and faulted. */
export type CallKind = "get" | "getMany" | "list" | "set" | "delete" | "commit" | "watch";

/** A KV that fails, stalls or drops what a test asks it to. */
export class FaultyKv implements KvLike {
  readonly #kv: Deno.Kv;
  /** Calls made, by kind (a `list` counts once however many entries it returns). */
  readonly calls: Record<CallKind, number> = {
    get: 0,
    getMany: 0,
    list: 0,
    set: 0,
    delete: 0,
    commit: 0,
    watch: 0,
  };
  /** Added before every call answers. */
  latencyMs = 0;
  /** While true, every call waits (and then runs) until `release()`. */
  hung = false;
  /** Calls of each kind to fail, next first. */
  readonly failing = new Map<string, number>();
  /** While true, listing the change feed finds nothing (its entries expired). */
  feedGone = false;
  readonly #watches = new Map<
    ReadableStreamDefaultController<unknown>,
    ReadableStreamDefaultReader<unknown>
  >();
  #released: PromiseWithResolvers<void> = Promise.withResolvers();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Fails the next `count` calls of `kind` (`list:<first key part>` for some lists only). */
  fail(kind: CallKind | `list:${string}`, count = 1): void {
    this.failing.set(kind, count);
  }

  /** Lets every hung call go on, and stops hanging new ones. */
  release(): void {
    this.hung = false;
    this.#released.resolve();
    this.#released = Promise.withResolvers();
  }

  /** Ends every open watch stream, as a dropped connection would. */
  endWatches(): void {
    for (const [controller, source] of this.#watches) {
      controller.close();
      source.cancel().catch(() => {});
    }
    this.#watches.clear();
  }

  /** Resolves once every call made so far has answered (or failed). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Watch streams open now. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Resets the call counts. */
  resetCounts(): void {
    for (const kind of Object.keys(this.calls) as CallKind[]) this.calls[kind] = 0;
  }

  get<T = unknown>(
    key: Deno.KvKey,
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<Deno.KvEntryMaybe<T>> {
    return this.#call("get", () => this.#kv.get<T>(key, options));
  }

  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
    options?: { consistency?: Deno.KvConsistencyLevel },
  ): Promise<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    return this.#call("getMany", () => this.#kv.getMany<T>(keys, options));
  }

  set(
    key: Deno.KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<Deno.KvCommitResult> {
    return this.#call("set", () => this.#kv.set(key, value, options));
  }

  delete(key: Deno.KvKey): Promise<void> {
    return this.#call("delete", () => this.#kv.delete(key));
  }

  list<T = unknown>(
    selector: Deno.KvListSelector,
    options?: Deno.KvListOptions,
  ): Deno.KvListIterator<T> {
    const first = "prefix" in selector ? selector.prefix[0] : selector.start[0];
    const gone = this.feedGone && first === "feed";
    const iterator = this.#kv.list<T>(gone ? { prefix: ["nothing", "here"] } : selector, options);
    const next = iterator.next.bind(iterator);
    let started = false;
    iterator.next = () => {
      if (started) return next();
      started = true;
      return this.#call("list", next, `list:${String(first)}`);
    };
    return iterator;
  }

  atomic(): Deno.AtomicOperation {
    const op = this.#kv.atomic();
    const commit = op.commit.bind(op);
    op.commit = () => this.#call("commit", commit);
    return op;
  }

  watch<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: Deno.KvKey }],
    options?: { raw?: boolean },
  ): ReadableStream<{ [K in keyof T]: Deno.KvEntryMaybe<T[K]> }> {
    this.calls.watch++;
    const source = this.#kv.watch<T>(keys, options).getReader();
    const watches = this.#watches;
    let self: ReadableStreamDefaultController<unknown>;
    return new ReadableStream({
      start(controller) {
        self = controller;
        watches.set(controller, source);
      },
      async pull(controller) {
        const { done, value } = await source.read();
        if (!watches.has(self)) return; // ended by endWatches()
        if (done) {
          watches.delete(self);
          controller.close();
        } else controller.enqueue(value);
      },
      cancel() {
        watches.delete(self);
        return source.cancel();
      },
    });
  }

  close(): void {
    this.#kv.close();
  }

  #call<T>(kind: CallKind, run: () => Promise<T>, detail?: string): Promise<T> {
    const call = this.#faulty(kind, run, detail);
    this.#inFlight.add(call);
    call.then(() => this.#inFlight.delete(call), () => this.#inFlight.delete(call));
    return call;
  }

  async #faulty<T>(kind: CallKind, run: () => Promise<T>, detail?: string): Promise<T> {
    this.calls[kind]++;
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.hung) await this.#released.promise;
    for (const label of [kind, detail]) {
      const failures = label === undefined ? 0 : this.failing.get(label) ?? 0;
      if (failures > 0) {
        this.failing.set(label!, failures - 1);
        throw new Error(`Injected ${label} failure`);
      }
    }
    return await run();
  }
}
