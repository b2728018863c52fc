/**
 * Test harness: the real app on a real `Deno.serve` listener, on 127.0.0.1 and a free port.
 *
 * @module
 */
import { type App, createApp } from "../../lib/app.ts";
import type { AlarmLog } from "../../lib/alarm_log.ts";
import { type Config, DEFAULT_CONFIG } from "../../lib/config.ts";
import type { Logger } from "../../lib/log.ts";

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
  app: App;
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
  log?: AlarmLog;
  /** Replaces the fake clock's function, e.g. with one that fails on purpose. */
  now?: () => number;
}

/** Starts the app on a free port. */
export function startServer(options: StartOptions = {}): TestServer {
  const clock = new FakeClock();
  const config: Config = { ...DEFAULT_CONFIG, host: "127.0.0.1", port: 0, ...options.config };
  const app = createApp({
    config,
    now: options.now ?? clock.now,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const port = server.addr.port;
  const http = `http://127.0.0.1:${port}`;
  async function request(path: string, init: RequestInit): Promise<JsonReply> {
    const res = await fetch(http + path, init);
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
      await app.close(100);
      await server.shutdown();
    },
  };
}
