/**
 * Request helpers every route uses, each check throwing the {@linkcode HttpError} to answer.
 *
 * @module
 */
import { isValidId, parseSeq, quote } from "../core/mod.ts";
import { HttpError } from "./errors.ts";

/** Returns `raw` if it is a valid id, else throws a 400. */
export function checkId(raw: string): string {
  if (!isValidId(raw)) {
    throw new HttpError(
      400,
      "invalid_id",
      `Id ${quote(raw)} must be 1 to 128 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
  return raw;
}

// A host as a `Host` header may hold it: a name or IPv4 address, or an IPv6 one in brackets, and
// a port from 0 to 65535.
const HOST_PORT = String.raw`(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])` +
  String.raw`(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4}))?`;
const HOST = new RegExp(`^${HOST_PORT}$`);

// `/api/alarms/{id}` as Deno spells a request URL: scheme and host, then the path as sent.
const PUBLISH_URL = new RegExp(
  String.raw`^https?:\/\/${HOST_PORT}\/api\/alarms\/([A-Za-z0-9_.:-]{1,128})$`,
);

/**
 * The URL of `req`, refused with a 400 unless its `Host` is well formed and its path is exactly
 * as sent: a URL parser would resolve `/websocket/x/../victim` or `%2e%2e` to another id.
 */
export function requestUrl(req: Request): URL {
  const host = req.headers.get("host");
  if (host && !HOST.test(host)) {
    throw new HttpError(400, "invalid_host", `Host ${quote(host)} is not a host name and port`);
  }
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new HttpError(
      400,
      "invalid_host",
      `Host ${quote(host ?? "")} is not a host name and port`,
    );
  }
  // Deno spells the URL as scheme, "://", host and the request target as sent.
  const start = req.url.indexOf("/", req.url.indexOf("://") + 3);
  const raw = start < 0 ? "/" : req.url.slice(start).replace(/[?#].*$/s, "");
  if (raw !== url.pathname) {
    const unescaped = UNESCAPED.exec(raw)?.[0];
    throw new HttpError(
      400,
      "invalid_path",
      unescaped === undefined
        ? `Path ${quote(raw)} is not canonical: no dot segments, escaped dots or backslashes`
        : `Path ${quote(raw)} has ${quote(unescaped)} unescaped: percent-encode it`,
    );
  }
  return url;
}

// What a URL parser percent-encodes in a path, so a path sent with it is not as parsed.
// deno-lint-ignore no-control-regex
const UNESCAPED = /[\u0000-\u0020"<>`{}\u007f-\u{10ffff}]/u;

/**
 * The id of a `/api/alarms/{id}` URL that a URL parser would leave as it is (a valid id, no
 * query, no escapes, no dot segment), else `undefined`. Lets the hottest route skip parsing.
 */
export function publishTarget(url: string): string | undefined {
  const id = PUBLISH_URL.exec(url)?.[1];
  return id === "." || id === ".." ? undefined : id;
}

/** The 404 for `path`. */
export function notFound(path: string): HttpError {
  return new HttpError(404, "not_found", `No route for ${quote(path)}`);
}

/** Most entries one page of an id's log returns (`limit`). */
export const MAX_HISTORY = 1000;

/**
 * `?after=<seq>&limit=<n>` of a route that pages through an id's log (0 and 100 by default), or
 * a 400.
 */
export function pageOf(params: URLSearchParams): { after: number; limit: number } {
  return {
    after: intParam(params, "after", 0, 0, Number.MAX_SAFE_INTEGER),
    limit: intParam(params, "limit", 100, 1, MAX_HISTORY),
  };
}

/**
 * Query parameter `name`, or null when absent; given twice it is a 400: which to follow would be
 * a guess (a proxy or client appending a second `since` would resume from the wrong place).
 */
export function oneParam(params: URLSearchParams, name: string): string | null {
  const all = params.getAll(name);
  if (all.length > 1) {
    throw new HttpError(400, "invalid_parameter", `Parameter ${quote(name)} is given twice`);
  }
  return all[0] ?? null;
}

/** Reads an optional non-negative integer query parameter, or throws a 400. */
export function intParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = oneParam(params, name);
  if (raw === null) return fallback;
  const value = parseSeq(raw) ?? NaN;
  if (!(value >= min && value <= max)) {
    throw new HttpError(
      400,
      "invalid_parameter",
      `Parameter ${quote(name)} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}
