/**
 * `POST /api/acks/{id}`: acknowledging alarms over HTTP, for clients whose transport can't send
 * (SSE streams). The same record a v1 socket's `ack` writes. Accepted with the API key, or with a
 * connection token that covers the id, so a browser console never holds the API key.
 *
 * @module
 */
import { type Grant, InvalidInput, refuseUnknownFields } from "../core/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import { type Gate, tokenOf } from "./access.ts";
import { type ApiKeyAuth, bearersOf } from "./auth.ts";
import { readJsonObject } from "./body.ts";
import { HttpError, jsonResponse } from "./errors.ts";

/** What {@linkcode acknowledge} needs. */
export interface AckDeps {
  hub: Hub;
  gate: Gate;
  /** The API key check, when `ALARM_API_KEY` is set. */
  auth: ApiKeyAuth | undefined;
  maxBodyBytes: number;
  now: () => number;
}

/** Longest `sessionId` accepted (a UUID is 36 characters). */
const MAX_SESSION_ID = 64;
const ACK_FIELDS = new Set(["seq", "sessionId"]);

/** Who a request acting for the clients of an id is: the API key's holder, or a token's. */
export type Caller = { byKey: true } | { byKey: false; grant: Grant | undefined };

/**
 * Lets a request act for the clients of `id` with the API key, or with a connection token that
 * covers the id (`Authorization: Bearer` or `?token=`); without tokens configured, only the API
 * key (if set) is asked for. Throws the 401 or 403 to answer.
 */
export async function authorize(
  req: Request,
  id: string,
  params: URLSearchParams,
  deps: AckDeps,
): Promise<Caller> {
  const { gate, auth, now } = deps;
  const byKey = auth !== undefined && await auth.check(req.headers).then(() => true, () => false);
  if (byKey) return { byKey };
  gate.checkOrigin(req);
  if (gate.keys) {
    const bearers = bearersOf(req.headers);
    // A malformed `Bearer` is no token, and no reason to read `?token=` instead.
    const offered = bearers.flatMap((bearer) => bearer ?? []);
    if (offered.length < bearers.length) {
      throw new HttpError(
        401,
        "invalid_token",
        'The "Authorization" header is not "Bearer <token>"',
      );
    }
    const token = tokenOf(params, offered, 'the "Authorization" header');
    return { byKey, grant: await gate.checkToken(token, id, now()) };
  }
  // Without tokens configured, only the key would do: its own 401 says so.
  if (auth) await auth.check(req.headers);
  return { byKey, grant: undefined };
}

/** Records `{"seq": n}` as acknowledged for `id` and answers `{"id", "seq"}`. */
export async function acknowledge(
  req: Request,
  id: string,
  params: URLSearchParams,
  deps: AckDeps,
): Promise<Response> {
  const { hub } = deps;
  await authorize(req, id, params, deps);
  const body = await readJsonObject(req, deps.maxBodyBytes);
  refuseUnknownFields(body, ACK_FIELDS);
  const { seq, sessionId } = body;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    throw new HttpError(400, "invalid_field", 'Field "seq" must be a positive integer');
  }
  if (
    sessionId !== undefined &&
    (typeof sessionId !== "string" || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID)
  ) {
    throw new HttpError(
      400,
      "invalid_field",
      `Field "sessionId" must be a string of 1 to ${MAX_SESSION_ID} characters`,
    );
  }
  // A well-formed ack of a seq the id hasn't reached conflicts with the id's state: 409.
  await hub.ack(id, seq, typeof sessionId === "string" ? sessionId : undefined).catch((error) => {
    if (error instanceof InvalidInput && error.code === "invalid_ack") {
      throw new HttpError(409, error.code, error.message);
    }
    throw error;
  });
  return jsonResponse({ id, seq });
}
