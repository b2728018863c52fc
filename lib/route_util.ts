/**
 * Small checks every route uses, each throwing the {@linkcode HttpError} to answer.
 *
 * @module
 */
import { HttpError } from "./http_error.ts";
import { isValidId, quote } from "./ids.ts";

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
