/**
 * `POST /api/tokens`: a backend asks for a connection token for a browser.
 *
 * @module
 */
import { type JsonObject, parseTokenRequest, type TokenKeys } from "../core/mod.ts";
import { HttpError, jsonResponse } from "./errors.ts";

/** `{"id": "plant-3" | "plant-*" | "*", "ttl": seconds, "send": [...]}` → 201 with the token. */
export async function issueToken(
  keys: TokenKeys | undefined,
  body: JsonObject,
  now: number,
): Promise<Response> {
  if (!keys) throw TOKENS_DISABLED;
  return jsonResponse(await keys.issue(parseTokenRequest(body), now), 201);
}

/** The answer while `WS_TOKEN_SECRET` is not set. */
export const TOKENS_DISABLED = new HttpError(
  501,
  "tokens_disabled",
  "Connection tokens are off: WS_TOKEN_SECRET is not set",
);
