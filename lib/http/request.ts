/**
 * Request helpers every route uses, each check throwing the {@linkcode HttpError} to answer.
 *
 * @module
 */
import { isValidId, quote } from "../core/mod.ts";
import { HttpError } from "./errors.ts";

/** Throws a 405 with `Allow: allowed` unless `req` uses `method`. */
export function allow(req: Request, method: string, allowed = method): void {
  if (req.method !== method) {
    throw new HttpError(405, "method_not_allowed", `Method ${quote(req.method)} is not allowed`, {
      allow: allowed,
    });
  }
}

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

// `/api/alarms/{id}` as Deno spells a request URL: scheme and host, then the path as sent.
const PUBLISH_URL = /^https?:\/\/[^/?#]+\/api\/alarms\/([A-Za-z0-9_.:-]{1,128})$/;

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

/** Reads an optional non-negative integer query parameter, or throws a 400. */
export function intParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    throw new HttpError(
      400,
      "invalid_parameter",
      `Parameter ${quote(name)} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}
