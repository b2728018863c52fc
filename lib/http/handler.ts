/**
 * The HTTP entry: a plain `(Request) => Promise<Response>` over a {@linkcode Hub}. The publish
 * fast lane, then dispatch over the route table (`routes.ts`), CORS on the routes that take
 * it, and the one error boundary (`errors.ts`) for every failure.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Escalation } from "../escalation/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import { Gate } from "./access.ts";
import { ApiKeyAuth } from "./auth.ts";
import { drainBody, readJsonObject } from "./body.ts";
import { checkKey } from "./conditions.ts";
import { answerFailure } from "./errors.ts";
import { EventStreams } from "./events.ts";
import { openApiRoute } from "./openapi.ts";
import { publishOne } from "./publish.ts";
import { checkId, publishTarget, requestUrl } from "./request.ts";
import { allowedMethods, type Match, type Route, Router } from "./router.ts";
import { type Operation, type RouteDeps, ROUTES } from "./routes.ts";
import { StaticFiles } from "./static.ts";
import { type ConnInfo, refusalLog } from "./subscribe.ts";

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
  const auth = config.apiKey === undefined ? undefined : new ApiKeyAuth(config.apiKey);
  const router = new Router(ROUTES);
  // Which isolate answered: lets operators (and tests) see load balancing across isolates.
  const servedBy = { "x-served-by": hub.instance };
  let closing = false;
  const deps: RouteDeps = {
    config,
    hub,
    escalation,
    gate,
    streams,
    statics: new StaticFiles(),
    metrics,
    auth,
    now,
    closing: () => closing,
    refused: refusalLog(logger, now),
    openApi: openApiRoute(config, ROUTES),
  };

  async function route(
    req: Request,
    url: URL,
    found: Match<Operation> | undefined,
    info: ConnInfo | undefined,
  ): Promise<Response> {
    const { route, params, operation } = await router.resolve(req, url.pathname, found, auth);
    if (operation === undefined) return preflight(req, route, params);
    return await operation.handle({ req, url, params, info, deps });
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
  // acks, condition actions); allowed origins are those that may open sockets. An `{id}` is
  // checked here; other params when the request itself comes.
  function preflight(
    req: Request,
    route: Route<Operation>,
    params: Readonly<Record<string, string>>,
  ): Response {
    if (params.id !== undefined) checkId(params.id);
    if (params.key !== undefined) checkKey(params.key);
    gate.checkOrigin(req);
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-methods": allowedMethods(route).filter((m) => m !== "OPTIONS")
          .join(", "),
        "access-control-allow-headers": "authorization, content-type, last-event-id",
        "access-control-max-age": "600",
      },
    });
  }

  // Only the cross-origin routes (`cors` in the table) get CORS headers, errors included;
  // everything else stays same-origin.
  function cors(req: Request, found: Match<Operation> | undefined, res: Response): Response {
    if (found?.route.cors !== true) return res;
    const origin = req.headers.get("origin");
    if (origin === null || !gate.originAllowed(origin, req.headers)) return res;
    res.headers.set("access-control-allow-origin", origin);
    res.headers.append("vary", "origin");
    return res;
  }

  // Not on a 101: Deno before 2.5.7 throws on any change to an upgrade response's headers.
  function served(res: Response): Response {
    if (res.status !== 101) res.headers.set("x-served-by", hub.instance);
    return res;
  }

  return {
    // The one error boundary: whatever any route throws is answered here.
    async fetch(req, info) {
      let found: Match<Operation> | undefined;
      try {
        gate.checkHost(req);
        const target = req.method === "POST" ? publishTarget(req.url) : undefined;
        if (target !== undefined) return await publish(req, target);
        const url = requestUrl(req);
        found = router.match(url.pathname);
        return cors(req, found, served(await route(req, url, found, info)));
      } catch (error) {
        // Refused before its body was read (a wrong key): take the body, so the answer arrives.
        await drainBody(req, config.maxBodyBytes, DRAIN_MS);
        // A URL refused before routing is matched as sent, so its route's CORS still applies.
        found ??= router.match(rawPath(req.url));
        return cors(req, found, served(answerFailure(metrics, logger, error)));
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

/** The path of a request URL as sent (Deno spells it scheme, "://", host, then the target). */
function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  return start < 0 ? "/" : url.slice(start).replace(/[?#].*$/s, "");
}
