/**
 * `POST /api/tokens`: a backend asks for a connection token for a browser.
 *
 * @module
 */
import { HttpError, jsonResponse } from "./http_error.ts";
import type { JsonObject } from "./json.ts";
import { isIdPattern, type TokenKeys } from "./token.ts";

/** Longest token lifetime, in seconds. */
export const MAX_TTL_SECONDS = 86_400;
const DEFAULT_TTL_SECONDS = 3600;

/** `{"id": "plant-3" | "plant-*" | "*", "ttl": seconds, "send": [...]}` → 201 with the token. */
export async function issueToken(
  keys: TokenKeys | undefined,
  body: JsonObject,
  now: number,
): Promise<Response> {
  if (!keys) {
    throw new HttpError(
      501,
      "tokens_disabled",
      "Connection tokens are off: WS_TOKEN_SECRET is not set",
    );
  }
  const { id, ttl = DEFAULT_TTL_SECONDS, send = [] } = body;
  if (!isIdPattern(id)) {
    throw new HttpError(
      400,
      "invalid_field",
      `Field "id" must be an id, a prefix ending in "*", or "*"`,
    );
  }
  if (typeof ttl !== "number" || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new HttpError(
      400,
      "invalid_field",
      `Field "ttl" must be an integer from 1 to ${MAX_TTL_SECONDS} seconds`,
    );
  }
  if (!Array.isArray(send) || send.length > 100 || !send.every(isIdPattern)) {
    throw new HttpError(
      400,
      "invalid_field",
      `Field "send" must be an array of at most 100 id patterns`,
    );
  }
  // Whole seconds, as the token carries them.
  const expiresAt = (Math.floor(now / 1000) + ttl) * 1000;
  const token = await keys.sign(id, expiresAt, send);
  return jsonResponse({ token, expiresAt: new Date(expiresAt).toISOString() }, 201);
}
