/**
 * Opening a session over HTTP: `GET /websocket/{id}` (a WebSocket upgrade) and the event
 * streams. Both are admitted alike, before anything is sent (origin, rate, token, caps), and
 * refused while the server shuts down; refusals are counted and logged here.
 *
 * @module
 */
import { ipAddress } from "../core/mod.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../observe/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import type { Gate } from "./access.ts";
import { HttpError } from "./errors.ts";
import { type EventStreams, parseStreamRequest } from "./events.ts";
import { checkId, intParam } from "./request.ts";
import { acceptWebSocket, negotiate } from "./upgrade.ts";

/** What `Deno.serve` tells a handler about the connection. */
export interface ConnInfo {
  remoteAddr: Deno.Addr;
}

/** What opening a session needs. */
export interface SubscribeDeps {
  config: Config;
  hub: Hub;
  gate: Gate;
  streams: EventStreams;
  now: () => number;
  /** Whether the server is shutting down: new sessions get a 503. */
  closing(): boolean;
  /** Notes a refused session (see {@linkcode refusalLog}). */
  refused(code: string, id: string, address: string): void;
}

/** Upgrades `req` to a WebSocket session of `rawId`, once admitted. */
export async function openSocket(
  req: Request,
  rawId: string,
  params: URLSearchParams,
  address: string,
  deps: SubscribeDeps,
): Promise<Response> {
  const { config, hub, gate, now } = deps;
  const id = checkId(rawId);
  const since = params.has("since")
    ? intParam(params, "since", 0, 0, Number.MAX_SAFE_INTEGER)
    : undefined;
  if (deps.closing()) throw shuttingDown();
  const wire = negotiate(req.headers);
  const { grant, slot } = await gate.admit(req, params, id, address, hub, now())
    .catch((error) => {
      if (error instanceof HttpError) deps.refused(error.code, id, address);
      throw error;
    });
  try {
    return acceptWebSocket(req, {
      wire,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxMessageBytes: config.maxMessageBytes,
    }, hub.attach(id, wire, since, grant, slot));
  } catch (error) {
    slot.release();
    throw error;
  }
}

/**
 * Opens an event stream of `rawId` (`/events/{id}`) or of the `id` parameters (`/events`). The
 * stream's sessions are admitted like sockets: origin, rate, token, caps.
 */
export async function openStream(
  req: Request,
  rawId: string | undefined,
  params: URLSearchParams,
  address: string,
  deps: SubscribeDeps,
): Promise<Response> {
  const { hub, gate, now } = deps;
  const request = parseStreamRequest(rawId, params, req.headers);
  if (deps.closing()) throw shuttingDown();
  const admitted = await gate.admitAll(req, params, request.ids, address, hub, now())
    .catch((error) => {
      if (error instanceof HttpError) deps.refused(error.code, request.ids.join(","), address);
      throw error;
    });
  return deps.streams.open(request, hub, admitted, {});
}

/**
 * The client's address, read only for sessions (limits per address): Deno builds the address
 * object on each access. Behind a trusted proxy, the client is the address the proxy appended
 * to X-Forwarded-For.
 */
export function clientAddress(
  req: Request,
  info: ConnInfo | undefined,
  trustedProxies: readonly string[],
): string {
  const addr = info?.remoteAddr;
  // Listening on both stacks (`HOST=::`), Deno names an IPv4 peer `::ffff:127.0.0.1`.
  const peer = addr && "hostname" in addr ? ipAddress(addr.hostname) ?? addr.hostname : "unknown";
  if (!trustedProxies.includes(peer)) return peer;
  const forwarded = req.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
  // Anything but an address (a port, brackets, "unknown") would be a limit bucket of its own.
  return (forwarded && ipAddress(forwarded)) || peer;
}

/**
 * Refused sessions are logged at most once per reason per 10 s: a flood must not flood the
 * log (each is counted in `errors_total` by the error boundary).
 */
export function refusalLog(
  logger: Logger,
  now: () => number,
): (code: string, id: string, address: string) => void {
  const last = new Map<string, number>();
  return (code, id, address) => {
    const at = now();
    if (at - (last.get(code) ?? -Infinity) < 10_000) return;
    last.set(code, at);
    logger.log("warn", "upgrade refused", { code, id, address });
  };
}

function shuttingDown(): HttpError {
  return new HttpError(503, "shutting_down", "The server is restarting", { "retry-after": "1" });
}
