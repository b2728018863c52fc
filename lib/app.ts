/**
 * The HTTP entry: a plain `(Request) => Promise<Response>` built from its dependencies, so most
 * tests call it without a network. Routes, auth and the single error-to-response path live here.
 *
 * @module
 */
import { type AlarmLog, MemoryAlarmLog } from "./alarm_log.ts";
import { ApiKeyAuth } from "./auth.ts";
import { readJsonObject } from "./body.ts";
import type { Config } from "./config.ts";
import { errorResponse, HttpError, jsonResponse } from "./http_error.ts";
import { Hub } from "./hub.ts";
import { isValidId, quote } from "./ids.ts";
import { type Logger, SILENT_LOGGER } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { publishBroadcast, publishMany, publishOne } from "./publish.ts";
import type { Session } from "./session.ts";
import { acceptWebSocket, negotiate } from "./upgrade.ts";

/** Dependencies of {@linkcode createApp}. */
export interface AppOptions {
  /** Validated configuration (see `parseConfig`). */
  config: Config;
  /** Structured logger; silent by default. */
  logger?: Logger;
  /** Clock in epoch ms, injectable for tests. */
  now?: () => number;
  /** Where alarms get their seq; in memory by default. */
  log?: AlarmLog;
}

/** The service: a fetch handler plus the handles `main.ts` and tests need. */
export interface App {
  /** Handles one HTTP request (including WebSocket upgrades). */
  fetch(req: Request): Promise<Response>;
  /** Sessions, fan-out and publishing. */
  readonly hub: Hub;
  /** Counters for `/metrics`. */
  readonly metrics: Metrics;
  /** Closes sessions that stopped heartbeating; call periodically. */
  sweep(): number;
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
    log: options.log ?? new MemoryAlarmLog(),
    metrics,
    logger,
    now,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    slowConsumerBytes: config.slowConsumerBytes,
  });
  const auth = config.apiKey === undefined ? undefined : new ApiKeyAuth(config.apiKey);
  let closing = false;

  async function route(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const [, first = "", second, third, ...rest] = path.split("/");
    if (path === "/healthz") {
      allow(req, "GET");
      return jsonResponse({ status: closing ? "stopping" : "ok" }, closing ? 503 : 200);
    }
    if (path === "/metrics") {
      allow(req, "GET");
      return new Response(
        metrics.render({ sessions: hub.registry.size, ids: hub.registry.idCount }),
        {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        },
      );
    }
    if (first === "websocket" && second !== undefined && third === undefined) {
      return upgrade(req, second);
    }
    if (first !== "api") throw notFound(path);
    await auth?.check(req.headers);
    if (rest.length > 0) throw notFound(path);
    if (second === "alarms" && third === undefined) {
      allow(req, "POST");
      return publishMany(hub, await readJsonObject(req, config.maxBodyBytes), now());
    }
    if (second === "alarms" && third !== undefined) {
      allow(req, "POST");
      const target = checkId(third);
      return publishOne(hub, target, await readJsonObject(req, config.maxBodyBytes), now());
    }
    if (second === "broadcast" && third === undefined) {
      allow(req, "POST");
      return publishBroadcast(hub, await readJsonObject(req, config.maxBodyBytes), now());
    }
    if (second === "sessions" && third === undefined) {
      allow(req, "GET");
      const ids = [...hub.registry.ids()].sort().map((id) => sessionsJson(id));
      return jsonResponse({ sessions: hub.registry.size, ids: ids.length, byId: ids });
    }
    if (second === "sessions" && third !== undefined) {
      allow(req, "GET");
      return jsonResponse(sessionsJson(checkId(third)));
    }
    throw notFound(path);
  }

  function upgrade(req: Request, rawId: string): Response {
    allow(req, "GET");
    const id = checkId(rawId);
    if (closing) {
      throw new HttpError(503, "shutting_down", "The server is restarting", { "retry-after": "1" });
    }
    const protocol = negotiate(req.headers);
    return acceptWebSocket(req, {
      protocol,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxMessageBytes: config.maxMessageBytes,
    }, hub.attach(id, protocol));
  }

  function sessionsJson(id: string): { id: string; sessions: Session[] } {
    return { id, sessions: [...hub.registry.sessionsOf(id)] };
  }

  return {
    async fetch(req) {
      try {
        return await route(req);
      } catch (error) {
        if (error instanceof HttpError) metrics.error(error.code);
        else {
          metrics.error("internal");
          logger.log("error", "request failed", {
            error: error instanceof Error ? error.message : String(error),
          });
        }
        return errorResponse(error);
      }
    },
    hub,
    metrics,
    sweep: () => hub.sweep(),
    close(graceMs = 2000) {
      closing = true;
      return hub.shutdown(graceMs);
    },
  };
}

function allow(req: Request, method: string): void {
  if (req.method !== method) {
    throw new HttpError(405, "method_not_allowed", `Method ${quote(req.method)} is not allowed`, {
      allow: method,
    });
  }
}

function checkId(raw: string): string {
  if (!isValidId(raw)) {
    throw new HttpError(
      400,
      "invalid_id",
      `Id ${quote(raw)} must be 1 to 128 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
  return raw;
}

function notFound(path: string): HttpError {
  return new HttpError(404, "not_found", `No route for ${quote(path)}`);
}
