/**
 * Who may open a socket, decided before the upgrade so a refused client gets an HTTP status
 * (never a 101 and then a close): origin allowlist, upgrades per address, connection token,
 * and capacity, in that order.
 *
 * @module
 */
import {
  addressBucket,
  type Grant,
  idMatches,
  ipAddress,
  quote,
  TokenKeys,
  WindowLimiter,
} from "../core/mod.ts";
import type { Config } from "../config.ts";
import type { Slot } from "../realtime/mod.ts";
import { HttpError } from "./errors.ts";

/** The places this isolate's sessions take, as the caps count them. */
export interface Occupancy {
  /** Places taken in all. */
  readonly occupied: number;
  /** Places taken by `id`. */
  occupiedBy(id: string): number;
  /** Places taken from client `address`. */
  occupiedFrom(address: string): number;
  /** Takes a place for `id` from `address` until the connection is gone. */
  hold(id: string, address: string): Slot;
}

/** What an admitted upgrade carries on: the token's grant, and the place held for it. */
export interface Admission {
  grant: Grant | undefined;
  slot: Slot;
}

/** Prefix of the subprotocol that carries a token; it is never echoed back. */
export const TOKEN_PROTOCOL_PREFIX = "token.";

/** The admission checks for one isolate. */
export class Gate {
  readonly #config: Config;
  readonly #upgrades: WindowLimiter;
  /** Token keys, when tokens are required (`WS_TOKEN_SECRET` set). */
  readonly keys: TokenKeys | undefined;

  constructor(config: Config) {
    this.#config = config;
    this.#upgrades = new WindowLimiter(config.upgradesPerMinute);
    this.keys = config.tokenSecrets.length > 0 ? new TokenKeys(config.tokenSecrets) : undefined;
  }

  /**
   * Admits an upgrade to `id` from `address`, or throws the {@linkcode HttpError} to answer.
   * Returns the token's grant (when tokens are required) and the place held for the socket. A
   * socket's token may come as a `token.` subprotocol too.
   */
  async admit(
    req: Request,
    params: URLSearchParams,
    id: string,
    address: string,
    occupancy: Occupancy,
    now: number,
  ): Promise<Admission> {
    const offered = offeredTokens(req.headers);
    const { grant, slots } = await this.admitAll(
      req,
      params,
      [id],
      address,
      occupancy,
      now,
      { tokens: offered },
    );
    return { grant, slot: slots[0]! };
  }

  /**
   * Admits one connection carrying sessions of every id in `ids` (an event stream of several
   * ids): one origin check, one upgrade counted, one token that must cover every id, and a
   * place per id, all or none. The token comes in `?token=`, or, on a socket, in its `token.`
   * subprotocols (`socket.tokens`).
   */
  async admitAll(
    req: Request,
    params: URLSearchParams,
    ids: readonly string[],
    address: string,
    occupancy: Occupancy,
    now: number,
    socket?: { tokens: readonly string[] },
  ): Promise<{ grant: Grant | undefined; slots: Slot[] }> {
    this.checkOrigin(req);
    const retryAfter = this.#upgrades.hit(addressBucket(address), now);
    if (retryAfter > 0) {
      throw new HttpError(
        429,
        "too_many_upgrades",
        "Too many connection attempts from this address",
        {
          "retry-after": String(retryAfter),
        },
      );
    }
    const token = this.keys
      ? tokenOf(params, socket?.tokens ?? [], `the "${TOKEN_PROTOCOL_PREFIX}" subprotocol`)
      : undefined;
    if (this.keys && token === undefined && req.headers.has("authorization")) {
      // Sockets and streams don't read that header (browsers can't set it on either).
      const where = socket
        ? `in "?token=" or a "${TOKEN_PROTOCOL_PREFIX}" subprotocol`
        : `in "?token="`;
      throw new HttpError(
        401,
        "token_required",
        `A connection token is required, ${where}: the "Authorization" header is not read here`,
      );
    }
    const grant = this.keys ? await verifyToken(this.keys, token, ids, now) : undefined;
    // Checked and taken with no await in between, so concurrent upgrades can't all pass.
    const { maxSessions, maxSessionsPerId, maxSessionsPerAddress } = this.#config;
    if (occupancy.occupied + ids.length > maxSessions) {
      throw new HttpError(503, "server_full", "The server holds its maximum of sessions", {
        "retry-after": "5",
      });
    }
    const full = ids.find((id) => occupancy.occupiedBy(id) >= maxSessionsPerId);
    if (full !== undefined) {
      throw new HttpError(
        429,
        "too_many_sessions",
        `Id ${quote(full)} already has ${maxSessionsPerId} sessions`,
      );
    }
    if (occupancy.occupiedFrom(address) + ids.length > maxSessionsPerAddress) {
      throw new HttpError(
        429,
        "too_many_connections",
        `This address already holds ${maxSessionsPerAddress} connections`,
        { "retry-after": "5" },
      );
    }
    return { grant, slots: ids.map((id) => occupancy.hold(id, address)) };
  }

  /**
   * Throws a 403 unless `req` was sent to a host this server answers to (`ALLOWED_HOSTS`, when
   * set): an IP address, `localhost`, or a listed name (with its port, or any). A page under any
   * other name pointed at this server (DNS rebinding) reads nothing, streams and `/api/` reads
   * included, which carry no `Origin`.
   */
  checkHost(req: Request): void {
    const hosts = this.#config.allowedHosts;
    if (hosts.length === 0) return;
    // HTTP/2 names it in `:authority`, which only the URL carries.
    const host = (req.headers.get("host") ?? authorityOf(req.url)).toLowerCase();
    if (hosts.includes(host)) return;
    const url = URL.parse(`http://${host}`);
    if (url !== null && (isAddress(url.hostname) || hosts.includes(url.hostname))) return;
    throw new HttpError(
      403,
      "host_not_allowed",
      `Host ${quote(host)} is not one this server answers to: list it in ALLOWED_HOSTS`,
    );
  }

  /**
   * Throws a 403 unless `req` comes from an allowed origin. Browsers always send `Origin`;
   * clients without one are not browsers and can't be hijacked cross-site, so they are judged by
   * their token alone. The console this server serves is allowed when reached by IP address or
   * as `localhost`: its origin is then the host the request was sent to.
   */
  checkOrigin(req: Request): void {
    const origin = req.headers.get("origin");
    if (origin !== null && !this.originAllowed(origin, req.headers)) {
      throw new HttpError(403, "origin_not_allowed", `Origin ${quote(origin)} is not allowed`);
    }
  }

  /** Whether a page from `origin` may connect (`headers`: the request's, for its own host). */
  originAllowed(origin: string, headers: Headers): boolean {
    const origins = this.#config.allowedOrigins;
    if (origins.length === 0 || origins.includes(origin)) return true;
    // Only by address: any name can be pointed at this server (DNS rebinding), and a page from
    // it would send that name as its host. A console reached by name is listed.
    const url = URL.parse(origin);
    return url !== null && url.origin === origin && /^https?:$/.test(url.protocol) &&
      url.host === headers.get("host") && isAddress(url.hostname);
  }

  /**
   * Checks a connection `token` for `id` outside an upgrade (acknowledging over HTTP): throws
   * 401 or 403 like an upgrade would. Without `WS_TOKEN_SECRET` nothing is required.
   */
  async checkToken(token: string | undefined, id: string, now: number): Promise<Grant | undefined> {
    return this.keys ? await verifyToken(this.keys, token, [id], now) : undefined;
  }

  /** Forgets stale per-address windows; call periodically. */
  prune(now: number): void {
    this.#upgrades.prune(now);
  }
}

/**
 * Checks the token of a connection to `ids`: 401 without or with a bad one, 403 if it doesn't
 * cover one of them.
 */
async function verifyToken(
  keys: TokenKeys,
  token: string | undefined | null,
  ids: readonly string[],
  now: number,
): Promise<Grant> {
  if (!token) throw new HttpError(401, "token_required", "A connection token is required");
  const verified = await keys.verify(token, now);
  if (!verified.ok) {
    throw verified.reason === "expired"
      ? new HttpError(401, "token_expired", "The connection token has expired")
      : verified.reason === "not_yet_valid"
      ? new HttpError(401, "invalid_token", "The connection token is not valid yet (its nbf)")
      : new HttpError(401, "invalid_token", "The connection token is not valid");
  }
  const uncovered = ids.find((id) => !idMatches(verified.grant.sub, id));
  if (uncovered !== undefined) {
    throw new HttpError(
      403,
      "forbidden",
      `The connection token does not cover id ${quote(uncovered)}`,
    );
  }
  return verified.grant;
}

/** The tokens offered as `token.<token>` subprotocols (one, normally). */
export function offeredTokens(headers: Headers): string[] {
  // An empty one offers nothing, as an empty `?token=` (see `tokenOf`).
  return (headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
    .filter((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX) && p !== TOKEN_PROTOCOL_PREFIX)
    .map((p) => p.slice(TOKEN_PROTOCOL_PREFIX.length));
}

/**
 * The connection token a request offers in `?token=` or in `others` (what a header carries,
 * named by `where`), or a 401 when it offers more than one: which to trust would be a guess.
 */
export function tokenOf(
  params: URLSearchParams,
  others: readonly string[],
  where: string,
): string | undefined {
  // An empty `?token=` offers nothing (alone, it is no token at all).
  const query = params.getAll("token").filter((token) => token !== "");
  const twice = query.length > 1
    ? '"?token=" came twice'
    : others.length > 1
    ? `two in ${where}`
    : query.length > 0 && others.length > 0
    ? `in "?token=" or in ${where}, not both`
    : undefined;
  if (twice) throw new HttpError(401, "two_tokens", `Send the connection token once: ${twice}`);
  return query[0] ?? others[0];
}

/** The authority of request URL `url` as Deno spells it (scheme, "://", authority, path). */
function authorityOf(url: string): string {
  const start = url.indexOf("://") + 3;
  const end = url.indexOf("/", start);
  return url.slice(start, end < 0 ? undefined : end);
}

/** Whether a URL's `hostname` is an IP address or `localhost` (names nobody else can point). */
function isAddress(hostname: string): boolean {
  return hostname === "localhost" || ipAddress(hostname.replace(/^\[(.*)\]$/, "$1")) !== undefined;
}
