/**
 * The HTTP entry: a plain `(Request) => Promise<Response>` over a {@linkcode Hub}. It routes,
 * checks the API key, admits upgrades, and sends every failure through the one error boundary
 * (`errors.ts`).
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Escalation } from "../escalation/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import { Gate } from "./access.ts";
import { acknowledge } from "./acks.ts";
import { apiRoute } from "./api.ts";
import { ApiKeyAuth } from "./auth.ts";
import { drainBody, readJsonObject } from "./body.ts";
import { answerFailure } from "./errors.ts";
import { EventStreams } from "./events.ts";
import { openApiRoute } from "./openapi.ts";
import { publishOne } from "./publish.ts";
import { allow, checkId, notFound, publishTarget, requestUrl } from "./request.ts";
import { isAsset, StaticFiles } from "./static.ts";
import { health, metricsText } from "./status.ts";
import {
  clientAddress,
  type ConnInfo,
  openSocket,
  openStream,
  refusalLog,
  type SubscribeDeps,
} from "./subscribe.ts";

export type { ConnInfo } from "./subscribe.ts";

/** Longest an error answer waits for the rest of a body it did not read. */
const DRAIN_MS = 1000;

/** Dependencies of {@linkcode createHandler}. */
export interface HandlerOptions {
  config: Config;
  hub: Hub;
  /** Escalation policies, for `/api/policies`. */
  escalation: Escalation;
  metrics: Metrics;
  logger: Logger;
  /** Clock in epoch ms. */
  now: () => number;
}

/** The HTTP side of the service. */
export interface HttpHandler {
  /** Handles one HTTP request (including WebSocket upgrades); `info` gives the client address. */
  fetch(req: Request, info?: ConnInfo): Promise<Response>;
  /** From now on, refuses upgrades (503) and reports `stopping` on `/healthz`. */
  close(): void;
  /** Forgets stale per-address upgrade windows and heartbeats event streams; call every few s. */
  prune(now: number): void;
}

/** Builds the HTTP handler. Has no side effects until requests arrive. */
export function createHandler(options: HandlerOptions): HttpHandler {
  const { config, hub, escalation, metrics, logger, now } = options;
  const gate = new Gate(config);
  const streams = new EventStreams(now);
  const statics = new StaticFiles();
  const openApi = openApiRoute(config);
  const auth = config.apiKey === undefined ? undefined : new ApiKeyAuth(config.apiKey);
  // Which isolate answered: lets operators (and tests) see load balancing across isolates.
  const servedBy = { "x-served-by": hub.instance };
  let closing = false;
  const sessions: SubscribeDeps = {
    config,
    hub,
    gate,
    streams,
    now,
    closing: () => closing,
    refused: refusalLog(logger, now),
  };

  async function route(req: Request, info: ConnInfo | undefined): Promise<Response> {
    const url = requestUrl(req);
    const path = url.pathname;
    const [, first = "", second, third] = path.split("/");
    if (isAsset(path)) {
      allow(req, "GET");
      return statics.serve(req, path);
    }
    if (path === "/openapi.json") {
      allow(req, "GET");
      return openApi();
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
      allow(req, "GET");
      return openSocket(req, second, url.searchParams, address(req, info), sessions);
    }
    if (first === "events" && third === undefined) {
      if (req.method === "OPTIONS") {
        if (second !== undefined) checkId(second);
        return preflight(req, "GET");
      }
      allow(req, "GET", "GET, OPTIONS");
      return openStream(req, second, url.searchParams, address(req, info), sessions);
    }
    if (
      first === "api" && second === "acks" && third !== undefined && path.split("/").length === 4
    ) {
      const id = checkId(third);
      if (req.method === "OPTIONS") return preflight(req, "POST");
      allow(req, "POST", "POST, OPTIONS");
      return acknowledge(req, id, url.searchParams, {
        hub,
        gate,
        auth,
        maxBodyBytes: config.maxBodyBytes,
        now,
      });
    }
    if (first !== "api") throw notFound(path);
    await auth?.check(req.headers);
    return apiRoute(req, url, { hub, escalation, gate, config, now });
  }

  // The hottest route, `POST /api/alarms/{id}` with a plain id, skips the router and answers
  // with `x-served-by` already set (what it saves: docs/performance.md). Anything unusual about
  // the URL takes the general route.
  async function publish(req: Request, target: string): Promise<Response> {
    await auth?.check(req.headers);
    const body = await readJsonObject(req, config.maxBodyBytes);
    return await publishOne(hub, target, body, req.headers, now(), servedBy);
  }

  // CORS for the routes a console on another origin uses without the API key (event streams and
  // acks); allowed origins are those that may open sockets.
  function preflight(req: Request, method: string): Response {
    gate.checkOrigin(req);
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-methods": method,
        "access-control-allow-headers": "authorization, content-type, last-event-id",
        "access-control-max-age": "600",
      },
    });
  }

  function withCors(req: Request, res: Response): Response {
    const origin = req.headers.get("origin");
    if (origin === null || !gate.originAllowed(origin, req.headers)) return res;
    res.headers.set("access-control-allow-origin", origin);
    res.headers.append("vary", "origin");
    return res;
  }

  function address(req: Request, info: ConnInfo | undefined): string {
    return clientAddress(req, info, config.trustedProxies);
  }

  // Only the cross-origin routes get CORS headers; everything else stays same-origin.
  function cors(req: Request, res: Response): Response {
    const path = req.url.slice(req.url.indexOf("/", 8));
    return path.startsWith("/events") || path.startsWith("/api/acks/") ? withCors(req, res) : res;
  }

  // Not on a 101: Deno before 2.5.7 throws on any change to an upgrade response's headers.
  function served(res: Response): Response {
    if (res.status !== 101) res.headers.set("x-served-by", hub.instance);
    return res;
  }

  return {
    // The one error boundary: whatever any route throws is answered here.
    async fetch(req, info) {
      try {
        const target = req.method === "POST" ? publishTarget(req.url) : undefined;
        return target === undefined
          ? cors(req, served(await route(req, info)))
          : await publish(req, target);
      } catch (error) {
        // Refused before its body was read (a wrong key): take the body, so the answer arrives.
        await drainBody(req, config.maxBodyBytes, DRAIN_MS);
        return cors(req, served(answerFailure(metrics, logger, error)));
      }
    },
    close() {
      closing = true;
    },
    prune(now) {
      gate.prune(now);
      streams.tick(now);
    },
  };
}
