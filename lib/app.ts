/**
 * The HTTP entry: a plain `(Request) => Promise<Response>` built from its dependencies, so most
 * tests call it without a network. Routes, auth and the single error-to-response path live here.
 *
 * @module
 */
import { ApiKeyAuth } from "./auth.ts";
import type { Config } from "./config.ts";
import { answerFailure } from "./faults.ts";
import { HttpError } from "./http_error.ts";
import { Hub } from "./hub.ts";
import { type Logger, SILENT_LOGGER } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { Gate } from "./access.ts";
import { apiRoute } from "./api_routes.ts";
import { allow, checkId, intParam, notFound, publishTarget } from "./route_util.ts";
import { publishOne } from "./publish.ts";
import { readJsonObject } from "./body.ts";
import { isAsset, StaticFiles } from "./static.ts";
import { health, metricsText } from "./status_api.ts";
import type { AlarmStore } from "./store.ts";
import { acceptWebSocket, negotiate } from "./upgrade.ts";

/** Dependencies of {@linkcode createApp}. */
export interface AppOptions {
  /** Validated configuration (see `parseConfig`). */
  config: Config;
  /** Structured logger; silent by default. */
  logger?: Logger;
  /** Clock in epoch ms, injectable for tests. */
  now?: () => number;
  /** The durable alarm log (Deno KV). */
  store: AlarmStore;
}

/** The service: a fetch handler plus the handles `main.ts` and tests need. */
export interface App {
  /** Handles one HTTP request (including WebSocket upgrades); `info` gives the client address. */
  fetch(req: Request, info?: ConnInfo): Promise<Response>;
  /** Sessions, fan-out and publishing. */
  readonly hub: Hub;
  /** Counters for `/metrics`. */
  readonly metrics: Metrics;
  /** Closes sessions that stopped heartbeating; `start()` calls it periodically. */
  sweep(): number;
  /**
   * Starts the timers (heartbeat sweep, presence refresh) and learns whether other isolates
   * share the store; serve once it resolves.
   */
  start(): Promise<void>;
  /**
   * Refuses new sockets and closes every open one with 1012; resolves when their closing
   * handshakes are done or after `graceMs` (default 2000).
   */
  close(graceMs?: number): Promise<void>;
}

/** Builds the service from its dependencies. Has no side effects until requests arrive. */
export function createApp(options: AppOptions): App {
  const { config } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  const hub = new Hub({
    store: options.store,
    metrics,
    logger,
    now,
    limits: config,
  });
  const gate = new Gate(config);
  const statics = new StaticFiles();
  const auth = config.apiKey === undefined ? undefined : new ApiKeyAuth(config.apiKey);
  // Which isolate answered: lets operators (and tests) see load balancing across isolates.
  const servedBy = { "x-served-by": hub.instance };
  let closing = false;
  let sweeper: ReturnType<typeof setInterval> | undefined;

  async function route(req: Request, info: ConnInfo | undefined): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const [, first = "", second, third] = path.split("/");
    if (isAsset(path)) {
      allow(req, "GET");
      return statics.serve(req, path);
    }
    if (path === "/healthz") {
      allow(req, "GET");
      return health(hub, closing);
    }
    if (path === "/metrics") {
      allow(req, "GET");
      return metricsText(hub, metrics);
    }
    if (first === "websocket" && second !== undefined && third === undefined) {
      return upgrade(req, second, url.searchParams, addressOf(info));
    }
    if (first !== "api") throw notFound(path);
    await auth?.check(req.headers);
    return apiRoute(req, url, { hub, gate, config, now });
  }

  // The hottest route, `POST /api/alarms/{id}` with a plain id, skips the router and answers
  // with `x-served-by` already set: about 4% of the server's CPU per alarm at 10 sockets an
  // alarm (paired runs). Anything unusual about the URL takes the general route.
  async function publish(req: Request, target: string): Promise<Response> {
    try {
      await auth?.check(req.headers);
      const body = await readJsonObject(req, config.maxBodyBytes);
      return await publishOne(hub, target, body, req.headers, now(), servedBy);
    } catch (error) {
      return served(failure(error));
    }
  }

  async function handle(req: Request, info: ConnInfo | undefined): Promise<Response> {
    try {
      return await route(req, info);
    } catch (error) {
      return failure(error);
    }
  }

  function served(res: Response): Response {
    res.headers.set("x-served-by", hub.instance);
    return res;
  }

  // Every route's failures are answered and counted the same way.
  function failure(error: unknown): Response {
    return answerFailure(metrics, logger, error);
  }

  async function upgrade(
    req: Request,
    rawId: string,
    params: URLSearchParams,
    address: string,
  ): Promise<Response> {
    allow(req, "GET");
    const id = checkId(rawId);
    const since = params.has("since")
      ? intParam(params, "since", 0, 0, Number.MAX_SAFE_INTEGER)
      : undefined;
    if (closing) {
      throw new HttpError(503, "shutting_down", "The server is restarting", { "retry-after": "1" });
    }
    const protocol = negotiate(req.headers);
    const grant = await gate.admit(req, params, id, address, hub.registry, now());
    return acceptWebSocket(req, {
      protocol,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxMessageBytes: config.maxMessageBytes,
    }, hub.attach(id, protocol, since, grant));
  }

  function sweep(): number {
    gate.prune(now());
    return hub.sweep();
  }

  return {
    async fetch(req, info) {
      const target = req.method === "POST" ? publishTarget(req.url) : undefined;
      return target === undefined ? served(await handle(req, info)) : publish(req, target);
    },
    hub,
    metrics,
    sweep,
    start() {
      sweeper ??= setInterval(sweep, Math.min(5000, config.heartbeatTimeoutMs / 4));
      return hub.start();
    },
    close(graceMs = 2000) {
      closing = true;
      clearInterval(sweeper);
      return hub.shutdown(graceMs);
    },
  };
}

/** What `Deno.serve` tells a handler about the connection. */
export interface ConnInfo {
  remoteAddr: Deno.Addr;
}

// Read only for upgrades (limits per address): Deno builds the address object on each access.
function addressOf(info: ConnInfo | undefined): string {
  const addr = info?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : "unknown";
}
