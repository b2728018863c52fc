/**
 * The wire protocol. A socket that negotiates no subprotocol is *legacy*: it receives nothing
 * but flat alarm objects, exactly what the old page `JSON.parse`s. A socket that negotiates
 * `alarms.v1` exchanges typed JSON envelopes, with the alarm nested under `alarm` so publisher
 * fields can never collide with envelope fields.
 *
 * @module
 */
import type { Alarm } from "./alarm.ts";
import { isValidId, quote } from "./ids.ts";
import { isJsonObject, MAX_JSON_DEPTH, MAX_JSON_KEYS, parseJson } from "./json.ts";

/** The subprotocol of typed envelopes. */
export const PROTOCOL_V1 = "alarms.v1";

/** What a Server-Sent Events stream (`/events`) is called in the sessions API (format in `sse.ts`). */
export const PROTOCOL_SSE = "sse";

/** The heartbeat text the old page sends every 30 s. */
export const LEGACY_PING = "PING";

/** Messages the server sends to `alarms.v1` sockets. */
export type ServerMessage =
  | {
    type: "welcome";
    sessionId: string;
    id: string;
    instance: string;
    /** The id's last seq when the session went live: resume from here with `since`. */
    seq: number;
    serverTime: string;
    heartbeatInterval: number;
  }
  | { type: "alarm"; alarm: Alarm }
  | { type: "message"; from: string; data: unknown }
  /** A client of `id` acknowledged every alarm up to `seq`. */
  | { type: "ack"; id: string; seq: number }
  | { type: "pong"; serverTime: string }
  | { type: "gap"; since: number; firstAvailable: number }
  | { type: "error"; code: string; message: string };

/** Messages an `alarms.v1` socket sends. The text `PING` decodes as a `ping`. */
export type ClientMessage =
  | { type: "ping" }
  | { type: "send"; to: string; data: unknown }
  | { type: "ack"; seq: number };

/** The outcome of {@linkcode decodeClientMessage}. */
export type DecodeResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: string; message: string };

/** Serializes a server message. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** An alarm as JSON: the flat object, which is also the whole frame a legacy socket receives. */
export function encodeAlarm(alarm: Alarm): string {
  return JSON.stringify(alarm);
}

/**
 * The frame a v1 socket receives for an alarm, built from its JSON so an alarm is serialized
 * once however many sockets and formats it goes to.
 */
export function wrapAlarmFrame(alarmJson: string): string {
  return `{"type":"alarm","alarm":${alarmJson}}`;
}

/** Decodes one text frame from a client. Never throws. */
export function decodeClientMessage(text: string): DecodeResult {
  if (text === LEGACY_PING) return { ok: true, message: { type: "ping" } };
  const parsed = parseJson(text);
  if (!parsed.ok) {
    if (parsed.reason === "too_deep") {
      return invalid("json_too_deep", `Message nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    return parsed.reason === "too_many_keys"
      ? invalid("json_too_many_keys", `Message has more than ${MAX_JSON_KEYS} keys`)
      : invalid("invalid_json", "Message is not valid JSON");
  }
  const value = parsed.value;
  if (!isJsonObject(value)) return invalid("invalid_message", "Message must be a JSON object");
  switch (value.type) {
    case "ping":
      return { ok: true, message: { type: "ping" } };
    case "send":
      if (!isValidId(value.to)) {
        return invalid("invalid_message", `Field "to" must be a valid id`);
      }
      if (!Object.hasOwn(value, "data")) {
        return invalid("invalid_message", `Field "data" is required`);
      }
      return { ok: true, message: { type: "send", to: value.to, data: value.data } };
    case "ack":
      if (typeof value.seq !== "number" || !Number.isSafeInteger(value.seq) || value.seq < 1) {
        return invalid("invalid_message", `Field "seq" must be a positive integer`);
      }
      return { ok: true, message: { type: "ack", seq: value.seq } };
    default:
      return invalid(
        "unknown_type",
        typeof value.type === "string"
          ? `Unknown message type ${quote(value.type)}`
          : `Field "type" must be a string`,
      );
  }
}

function invalid(code: string, message: string): DecodeResult {
  return { ok: false, code, message };
}
