/**
 * The publish routes: one id, several ids, or every id online.
 *
 * @module
 */
import { prepareAlarm } from "./alarm.ts";
import { HttpError, jsonResponse } from "./http_error.ts";
import type { Hub, Published } from "./hub.ts";
import { isValidId, quote } from "./ids.ts";
import { isJsonObject, type JsonObject } from "./json.ts";

/** Most targets one multi-target POST may name. */
export const MAX_TARGETS = 1000;

/** `POST /api/alarms/{id}`: the body is the alarm. */
export async function publishOne(
  hub: Hub,
  target: string,
  body: JsonObject,
  now: number,
): Promise<Response> {
  const { alarm, delivered } = await hub.publish(target, prepareAlarm(body, now));
  return jsonResponse({ id: alarm.id, seq: alarm.seq, target, delivered }, 202);
}

/** `POST /api/alarms`: `{"targets": ["a", "b"], "alarm": {...}}`. */
export function publishMany(hub: Hub, body: JsonObject, now: number): Promise<Response> {
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
  return publishTo(hub, new Set(targets), alarm, now);
}

/** `POST /api/broadcast`: the body is the alarm; it goes to every id online now. */
export function publishBroadcast(hub: Hub, body: JsonObject, now: number): Promise<Response> {
  return publishTo(hub, new Set(hub.registry.ids()), body, now);
}

// One alarm, validated once, appended to each target's log in turn so each gets its own seq.
async function publishTo(
  hub: Hub,
  targets: ReadonlySet<string>,
  body: JsonObject,
  now: number,
): Promise<Response> {
  const prepared = prepareAlarm(body, now);
  const results: Published[] = [];
  for (const target of targets) results.push(await hub.publish(target, prepared));
  return jsonResponse({
    alarms: results.map(({ alarm, delivered }) => ({
      id: alarm.id,
      seq: alarm.seq,
      target: alarm.target,
      delivered,
    })),
    delivered: results.reduce((sum, r) => sum + r.delivered, 0),
  }, 202);
}
