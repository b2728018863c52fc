/**
 * The wire protocol. A socket that negotiates no subprotocol is *legacy*: it receives nothing
 * but flat alarm objects, exactly what the old page `JSON.parse`s. A socket that negotiates
 * `alarms.v1` exchanges typed JSON envelopes, with the alarm nested under `alarm` so publisher
 * fields can never collide with envelope fields.
 *
 * @module
 */
import type { Alarm } from "./alarm.ts";
import type { Condition } from "./condition.ts";
import { isValidId, quote } from "./ids.ts";
import { fitsCharacters, isStoredKey, MAX_KEY_LENGTH } from "./alarm.ts";
import {
  INEXACT_NUMBER,
  isJsonObject,
  type JsonObject,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  parseJson,
} from "./json.ts";
import { InvalidInput, refuseUnknownFields } from "./errors.ts";

/** The subprotocol of typed envelopes. */
export const PROTOCOL_V1 = "alarms.v1";

/** What a Server-Sent Events stream (`/events`) is called in the sessions API (format in `sse.ts`). */
export const PROTOCOL_SSE = "sse";

/** The heartbeat text the old page sends every 30 s. */
export const LEGACY_PING = "PING";

/**
 * A client's name for one of its messages (a string of 1 to {@linkcode MAX_REF_LENGTH}
 * characters, or a safe integer): the reply to that message carries it back.
 */
export type Ref = string | number;

/** Longest string `ref` accepted. */
export const MAX_REF_LENGTH = 64;

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
    /** Messages per second the socket may send, sustained, and at once (`MESSAGE_RATE`, `_BURST`). */
    messageRate: number;
    messageBurst: number;
    /** How many conditions the snapshot that follows holds; absent: none are active. */
    conditions?: number;
    /**
     * The `id` of the entry (an alarm or a transition) at the client's `since` in the log now: a
     * client that remembers another there is looking at a log that started again (a store
     * restored).
     */
    sinceId?: string | number;
    /** The highest seq the id's clients acknowledged; absent: none yet. */
    acked?: number;
  }
  | { type: "alarm"; alarm: Alarm }
  /** The id's conditions in the active list (shelved ones too), as of `seq`: sent on connect. */
  | { type: "conditions"; id: string; seq: number; conditions: Condition[] }
  | { type: "message"; from: string; data: unknown }
  /** A client of `id` acknowledged every alarm up to `seq`. */
  | { type: "ack"; id: string; seq: number }
  | { type: "pong"; serverTime: string; ref?: Ref }
  /** The message with this `ref` was carried out: relayed, or recorded. */
  | { type: "ok"; ref: Ref }
  | { type: "gap"; since: number; firstAvailable: number }
  | { type: "error"; code: string; message: string; ref?: Ref };

/**
 * Messages an `alarms.v1` socket sends. The text `PING` decodes as a `ping`. Any of them may
 * carry a `ref`: its reply (`pong`, `ok` or `error`) then carries it too.
 */
export type ClientMessage =
  & (
    | { type: "ping" }
    | { type: "send"; to: string; data: unknown }
    | { type: "ack"; seq: number }
    /**
     * `{"type":"acknowledge"|"shelve"|"unshelve","key",…}`: an operator's action on a
     * condition; its other fields (`comment`, `reason`, `durationSeconds`, `untilCleared`) are
     * read with `decodeAction`.
     */
    | {
      type: "act";
      action: "acknowledge" | "shelve" | "unshelve";
      key: string;
      fields: JsonObject;
    }
  )
  & { ref?: Ref };

/** The outcome of {@linkcode decodeClientMessage} (`ref`: the invalid message's, if it had one). */
export type DecodeResult =
  | { ok: true; message: ClientMessage }
  /** `strike: false`: answered like the action's other fields, not counted as an invalid frame. */
  | { ok: false; code: string; message: string; ref?: Ref; strike?: false };

/** Whether `value` may be a message's `ref`. */
export function isRef(value: unknown): value is Ref {
  return typeof value === "string"
    ? fitsCharacters(value, MAX_REF_LENGTH)
    : Number.isSafeInteger(value);
}

/** Serializes a server message. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** An alarm as JSON: the flat object, which is also the whole frame a legacy socket receives. */
export function encodeAlarm(alarm: Alarm): string {
  return JSON.stringify(alarm);
}

/**
 * One entry of an id's log as JSON, serialized once for every session and format: an alarm (the
 * flat object the old page gets, without the condition it carries), or an operator's or
 * publisher's action on a condition (`transition`), and the condition as the entry left it.
 */
export interface EntryFrames {
  readonly seq: number;
  /** The flat alarm object; absent for a transition. */
  readonly alarm?: string;
  /** The action: `{"action","key","by",…}`; absent for an alarm. */
  readonly transition?: string;
  /** A transition's `id` as JSON (an alarm's is in its object), when it has one. */
  readonly id?: string;
  /** The condition as the entry left it (keyed alarms and transitions). */
  readonly condition?: string;
}

/** Frames of entries already serialized by whoever made them (the store writes their JSON). */
const known = new WeakMap<Alarm, EntryFrames>();

/**
 * Remembers `frames` as what {@linkcode entryFrames} returns for `entry`, which must not change
 * afterwards: who serialized an entry anyway saves the sessions doing it again.
 */
export function knowFrames(entry: Alarm, frames: EntryFrames): void {
  known.set(entry, frames);
}

/** Splits a log entry into what each format frames. */
export function entryFrames(entry: Alarm): EntryFrames {
  return known.get(entry) ?? splitEntry(entry);
}

/**
 * The JSON of the entry `frames` were split from, when they hold all of it (an alarm, with its
 * condition if any); `undefined` for a transition.
 */
export function entryJson(frames: EntryFrames): string | undefined {
  if (frames.alarm === undefined) return undefined;
  return frames.condition === undefined
    ? frames.alarm
    : `${frames.alarm.slice(0, -1)},"condition":${frames.condition}}`;
}

function splitEntry(entry: Alarm): EntryFrames {
  if (entry.condition === undefined && entry.transition === undefined) {
    return { seq: entry.seq, alarm: JSON.stringify(entry) }; // the common case: one stringify
  }
  const { condition, transition, ...flat } = entry;
  const seq = entry.seq;
  const view = condition === undefined ? {} : { condition: JSON.stringify(condition) };
  if (transition === undefined) return { seq, alarm: JSON.stringify(flat), ...view };
  // Its id lets a client resuming after it tell a log that started again (`sinceId`).
  const id = entry.id === undefined ? {} : { id: JSON.stringify(entry.id) };
  return { seq, ...id, transition: JSON.stringify(transition), ...view };
}

/**
 * The frame a v1 socket receives for an alarm, built from its JSON so an alarm is serialized
 * once however many sockets and formats it goes to; `extra` adds members (`,"condition":…`).
 */
export function wrapAlarmFrame(alarmJson: string, extra = ""): string {
  return `{"type":"alarm","alarm":${alarmJson}${extra}}`;
}

/** Decodes one text frame from a client. Never throws. */
export function decodeClientMessage(text: string): DecodeResult {
  if (text === LEGACY_PING) return { ok: true, message: { type: "ping" } };
  const parsed = parseJson(text);
  if (!parsed.ok) {
    if (parsed.reason === "too_deep") {
      return invalid("json_too_deep", `Message nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (parsed.reason === "inexact_number") {
      return invalid("json_inexact_number", INEXACT_NUMBER("Message"));
    }
    return parsed.reason === "too_many_keys"
      ? invalid("json_too_many_keys", `Message has more than ${MAX_JSON_KEYS} keys`)
      : invalid("invalid_json", "Message is not valid JSON");
  }
  const value = parsed.value;
  if (!isJsonObject(value)) return invalid("invalid_message", "Message must be a JSON object");
  const { ref } = value;
  if (ref !== undefined && !isRef(ref)) {
    return invalid(
      "invalid_message",
      `Field "ref" must be a string of 1 to ${MAX_REF_LENGTH} characters or a safe integer`,
    );
  }
  const referred = ref === undefined ? {} : { ref };
  const message = decodeTyped(value);
  return "code" in message
    ? { ok: false, ...message, ...referred }
    : { ok: true, message: { ...message, ...referred } };
}

/** A refusal of a message's content, before its `ref` is added. */
type Failure = Omit<Extract<DecodeResult, { ok: false }>, "ok" | "ref">;

const SEND_FIELDS: ReadonlySet<string> = new Set(["type", "to", "data", "ref"]);
const ACK_FIELDS: ReadonlySet<string> = new Set(["type", "seq", "ref"]);

/** The refusal of a field of `value` not in `allowed`, as the HTTP API words it. */
function unknownField(value: JsonObject, allowed: ReadonlySet<string>): Failure | undefined {
  try {
    refuseUnknownFields(value, allowed);
    return undefined;
  } catch (error) {
    if (!(error instanceof InvalidInput)) throw error;
    return failure(error.code, error.message);
  }
}

function decodeTyped(value: JsonObject): ClientMessage | Failure {
  switch (value.type) {
    case "ping":
      return { type: "ping" };
    case "send": {
      const unknown = unknownField(value, SEND_FIELDS);
      if (unknown) return unknown;
      if (!isValidId(value.to)) return failure("invalid_message", `Field "to" must be a valid id`);
      if (!Object.hasOwn(value, "data")) {
        return failure("invalid_message", `Field "data" is required`);
      }
      return { type: "send", to: value.to, data: value.data };
    }
    case "ack": {
      // Only its own id's alarms: an `id` here would look like it acks another's.
      const unknown = unknownField(value, ACK_FIELDS);
      if (unknown) return unknown;
      if (typeof value.seq !== "number" || !Number.isSafeInteger(value.seq) || value.seq < 1) {
        return failure("invalid_message", `Field "seq" must be a positive integer`);
      }
      return { type: "ack", seq: value.seq };
    }
    case "acknowledge":
    case "shelve":
    case "unshelve": {
      if (!isStoredKey(value.key)) {
        // The code HTTP answers for a bad key in the path, so a client reports both alike; and,
        // like a bad reason or duration, an operator's typo is answered, not counted as garbage.
        return {
          ...failure(
            "invalid_key",
            `Field "key" must be 1 to ${MAX_KEY_LENGTH} printable characters, not "." or ".."`,
          ),
          strike: false,
        };
      }
      const { type: action, key: _, ref: _ref, ...fields } = value;
      return { type: "act", action, key: value.key, fields };
    }
    default:
      return failure(
        "unknown_type",
        typeof value.type === "string"
          ? `Unknown message type ${quote(value.type)}`
          : `Field "type" must be a string`,
      );
  }
}

function failure(code: string, message: string): Failure {
  return { code, message };
}

function invalid(code: string, message: string): DecodeResult {
  return { ok: false, code, message };
}
