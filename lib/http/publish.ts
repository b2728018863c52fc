/**
 * The publish routes: one id, several ids, or every id online; and the history of an id.
 *
 * @module
 */
import {
  Conflict,
  isJsonObject,
  isValidId,
  type JsonObject,
  prepareAlarm,
  type PreparedAlarm,
  quote,
  refuseUnknownFields,
} from "../core/mod.ts";
import type { Hub, Published } from "../realtime/mod.ts";
import { HttpError, jsonResponse } from "./errors.ts";
import { pageOf } from "./request.ts";

/** Most targets one multi-target POST may name. */
export const MAX_TARGETS = 1000;
const MANY_FIELDS = new Set(["targets", "alarm"]);
/** Longest `Idempotency-Key` accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY = 256;

/** `POST /api/alarms/{id}`: the body is the alarm. `extra` headers go on the answer. */
export async function publishOne(
  hub: Hub,
  target: string,
  body: JsonObject,
  headers: Headers,
  now: number,
  extra?: Readonly<Record<string, string>>,
): Promise<Response> {
  const prepared = prepareAlarm(body, now);
  const published = await hub.publish(target, prepared, idempotencyKey(headers, body));
  return jsonResponse(published, published.duplicate ? 200 : 202, extra);
}

/** `POST /api/alarms`: `{"targets": ["a", "b"], "alarm": {...}}`. */
export async function publishMany(
  hub: Hub,
  body: JsonObject,
  headers: Headers,
  now: number,
): Promise<Response> {
  refuseUnknownFields(body, MANY_FIELDS);
  const { targets, alarm } = body;
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_TARGETS) {
    throw new HttpError(
      400,
      "invalid_field",
      `Field "targets" must be an array of 1 to ${MAX_TARGETS} ids`,
    );
  }
  for (const target of targets) {
    if (!isValidId(target)) {
      throw new HttpError(
        400,
        "invalid_id",
        `Target ${typeof target === "string" ? quote(target) : "value"} is not a valid id`,
      );
    }
  }
  if (!isJsonObject(alarm)) {
    throw new HttpError(400, "invalid_field", `Field "alarm" must be a JSON object`);
  }
  const key = idempotencyKey(headers, alarm);
  const prepared = prepareAlarm(alarm, now, await sharedId(key));
  return publishPrepared(hub, new Set(targets), prepared, key);
}

/** `POST /api/broadcast`: the body is the alarm; it goes to every id online now, anywhere. */
export async function publishBroadcast(
  hub: Hub,
  body: JsonObject,
  headers: Headers,
  now: number,
): Promise<Response> {
  const key = idempotencyKey(headers, body);
  // Validated before looking up who is online.
  const prepared = prepareAlarm(body, now, await sharedId(key));
  const online = await hub.online();
  return publishPrepared(hub, new Set(online.keys()), prepared, key);
}

/** `GET /api/alarms/{id}?after=<seq>&limit=<n>`: stored alarms after a seq, oldest first. */
export async function history(
  hub: Hub,
  target: string,
  params: URLSearchParams,
): Promise<Response> {
  const { after, limit } = pageOf(params);
  const { seq, alarms } = await hub.history(target, after, limit);
  return jsonResponse({ target, seq, alarms });
}

/** A target of a multi-target publish that stored nothing, and why (a 409 of its own). */
export interface RefusedTarget {
  target: string;
  error: { code: string; message: string };
}

// One alarm, validated once, appended to each target's log so each gets its own seq. All at
// once, so group commit puts up to 100 targets in one atomic operation. A target that refuses it
// (its active list full) is named in `refused` while the others are stored; if none took it, the
// refusal is the answer. Any other failure (the store's 503: maybe stored) answers for all, so
// the publisher retries with its key, as for one target.
async function publishPrepared(
  hub: Hub,
  targets: ReadonlySet<string>,
  prepared: PreparedAlarm,
  key: string | undefined,
): Promise<Response> {
  const ids = [...targets];
  const settled = await Promise.allSettled(ids.map((target) => hub.publish(target, prepared, key)));
  const alarms: Published[] = [];
  const refused: RefusedTarget[] = [];
  let failure: { reason: unknown } | undefined;
  settled.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") alarms.push(outcome.value);
    else if (outcome.reason instanceof Conflict) {
      const { code, message } = outcome.reason;
      refused.push({ target: ids[i]!, error: { code, message } });
    } else failure ??= { reason: outcome.reason };
  });
  if (failure) throw failure.reason;
  const [first] = settled; // every one refused: the first refusal answers
  if (alarms.length === 0 && first?.status === "rejected") throw first.reason;
  const delivered = alarms.reduce((sum, r) => sum + r.delivered, 0);
  return jsonResponse({ alarms, delivered, ...(refused.length > 0 ? { refused } : {}) }, 202);
}

/**
 * How a publish to several ids names its alarm when the publisher doesn't: a random UUID, or
 * with an `Idempotency-Key`, one derived from it, so a retry that stores it for ids that refused
 * it before (their active list full) gives it the same `id` the others have.
 */
async function sharedId(key: string | undefined): Promise<() => string> {
  if (key === undefined || !key.startsWith("key:")) return () => crypto.randomUUID();
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)),
  );
  // A version 8 (custom) UUID from its first 16 bytes, so it reads as the random ones do.
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  const id = hex.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  return () => id;
}

/**
 * The idempotency key of a publish: the `Idempotency-Key` header, else the publisher's own
 * alarm `id`. Prefixed so a header value can never collide with an alarm id.
 */
function idempotencyKey(headers: Headers, alarm: JsonObject): string | undefined {
  const header = headers.get("idempotency-key");
  if (header !== null) {
    if (
      header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(header)
    ) {
      throw new HttpError(
        400,
        "invalid_header",
        `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} printable ASCII characters`,
      );
    }
    return `key:${header}`;
  }
  const id = alarm.id;
  return typeof id === "string" || typeof id === "number" ? `id:${JSON.stringify(id)}` : undefined;
}
