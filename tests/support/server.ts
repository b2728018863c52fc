/**
 * Test harness: the real app on a real `Deno.serve` listener, on 127.0.0.1 and a free port.
 *
 * @module
 */
import { type App, createApp } from "../../lib/app.ts";
import { buildStore, type CommitLimits, type KvLike, type Retention } from "../../lib/store/mod.ts";
import { type Config, DEFAULT_CONFIG } from "../../lib/config.ts";
import type { Logger } from "../../lib/observe/mod.ts";
import { within } from "./teardown.ts";

/** A controllable clock. */
export class FakeClock {
  /** Current time in epoch ms. */
  time = Date.parse("2026-01-01T00:00:00.000Z");
  /** The clock function to inject. */
  readonly now = (): number => this.time;
  /** Moves the clock forward. */
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A running test server. Dispose it with `await using`. */
export interface TestServer extends AsyncDisposable {
  app: App & { kv: KvLike };
  /** `http://127.0.0.1:<port>` */
  http: string;
  /** `ws://127.0.0.1:<port>` */
  ws: string;
  port: number;
  clock: FakeClock;
  /** POSTs `body` as JSON to `path` and returns status and parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<JsonReply>;
  /** GETs `path` and returns status and parsed body. */
  get(path: string, headers?: Record<string, string>): Promise<JsonReply>;
}

/** Status and parsed JSON body of a response. */
export interface JsonReply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Options of {@linkcode startServer}. */
export interface StartOptions {
  config?: Partial<Config>;
  logger?: Logger;
  /** Retention of the test store (in memory). */
  retention?: Retention;
  /** A KV database to use instead of a fresh in-memory one; the caller closes it. */
  kv?: KvLike;
  /** Milliseconds a store call may take (default: the store's). */
  storeTimeoutMs?: number;
  /** What one atomic operation carries (e.g. 10 checks, as on a KV Connect store). */
  commits?: Partial<CommitLimits>;
  /** Replaces the fake clock's function, e.g. with one that fails on purpose. */
  now?: () => number;
  /** Where the alarm log lives (default: KV). */
  log?: "kv" | "memory";
}

/** An app on a fresh in-memory store, without a network. Dispose it with `await using`. */
export async function testApp(
  config: Partial<Config> = {},
  options: StartOptions = {},
): Promise<App & AsyncDisposable & { kv: KvLike }> {
  const kv = options.kv ?? await Deno.openKv(":memory:");
  const store = await buildStore({
    kv,
    retention: {
      ...options.retention ?? { count: 1000, ageMs: 3600_000 },
      // What the document says (`MAX_CONDITIONS`) is what the store holds to.
      ...(config.maxConditions ? { conditions: config.maxConditions } : {}),
    },
    log: options.log ?? "kv",
    ...(options.storeTimeoutMs ? { timeoutMs: options.storeTimeoutMs } : {}),
    ...(options.commits ? { commits: options.commits } : {}),
  });
  const app = createApp({
    config: { ...DEFAULT_CONFIG, host: "127.0.0.1", port: 0, ...config },
    store,
    ...(options.now ? { now: options.now } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return Object.assign(app, {
    kv,
    async [Symbol.asyncDispose]() {
      await within("the test app", app.close(100));
      if (!options.kv) kv.close();
    },
  });
}

/** Starts the app on a free port. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const clock = new FakeClock();
  const app = await testApp(options.config, { ...options, now: options.now ?? clock.now });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const port = server.addr.port;
  const http = `http://127.0.0.1:${port}`;
  // The helpers' own connections, closed before the server shuts down: under a burst the pool
  // may open a connection that never carries a request, and Deno 2.5 waits on such a connection
  // forever when shutting down (fixed later by denoland/deno#31959).
  const client = Deno.createHttpClient({});
  async function request(path: string, init: RequestInit): Promise<JsonReply> {
    const res = await fetch(http + path, { ...init, client });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }
  return {
    app,
    http,
    ws: `ws://127.0.0.1:${port}`,
    port,
    clock,
    post: (path, body, headers = {}) =>
      request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }),
    get: (path, headers = {}) => request(path, { headers }),
    async [Symbol.asyncDispose]() {
      await app[Symbol.asyncDispose]();
      client.close();
      await within(`the test server on port ${port}`, server.shutdown());
    },
  };
}

/**
 * Two handles on one fresh SQLite KV file, as two isolates see one database. Declare it before
 * the servers that use it: it closes the handles and removes the file last.
 */
export async function sharedKv(): Promise<{ a: Deno.Kv; b: Deno.Kv } & AsyncDisposable> {
  const dir = await Deno.makeTempDir();
  const a = await Deno.openKv(`${dir}/kv.sqlite3`);
  const b = await Deno.openKv(`${dir}/kv.sqlite3`);
  return {
    a,
    b,
    async [Symbol.asyncDispose]() {
      a.close();
      b.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
