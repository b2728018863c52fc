/**
 * The two wire formats a WebSocket may speak, chosen by `negotiate` in `upgrade.ts`: the old
 * page's (no subprotocol: flat alarm objects and nothing else; `PING` in, nothing out) and
 * `alarms.v1` (typed envelopes both ways).
 *
 * @module
 */
import {
  decodeClientMessage,
  encodeServerMessage,
  type EntryFrames,
  LEGACY_PING,
  PROTOCOL_V1,
  wrapAlarmFrame,
} from "../core/mod.ts";
import type { Codec, Inbound, SessionEvent } from "../realtime/mod.ts";

/** What the old page gets: each alarm as the flat object it `JSON.parse`s, nothing else. */
export const LEGACY_CODEC: Codec = {
  name: "legacy",
  events: false,
  entry: (frames: EntryFrames) => frames.alarm,
  event: () => undefined,
  decode: (text: string): Inbound =>
    text === LEGACY_PING
      ? { kind: "message", message: { type: "ping" } }
      : { kind: "ignored", metric: "legacy_ignored" },
};

/**
 * `alarms.v1`: envelopes. The last alarm frame and the last event frame are kept, so what is
 * fanned out to many sockets is encoded once.
 */
class V1Codec implements Codec {
  readonly name = PROTOCOL_V1;
  readonly events = true;
  #lastEntry: EntryFrames | undefined;
  #lastFrame = "";
  #lastEvent: SessionEvent | undefined;
  #lastEventFrame = "";

  entry(frames: EntryFrames): string {
    if (frames !== this.#lastEntry) {
      this.#lastFrame = encodeEntry(frames);
      this.#lastEntry = frames;
    }
    return this.#lastFrame;
  }

  event(event: SessionEvent): string {
    if (event !== this.#lastEvent) {
      this.#lastEventFrame = encodeEvent(event);
      this.#lastEvent = event;
    }
    return this.#lastEventFrame;
  }

  decode(text: string): Inbound {
    const decoded = decodeClientMessage(text);
    if (decoded.ok) return { kind: "message", message: decoded.message };
    const { ok: _, ...invalid } = decoded;
    return { kind: "invalid", ...invalid };
  }
}

// `{"type":"alarm","alarm":…}` (with the condition it changed), or a condition's transition.
function encodeEntry({ seq, alarm, id, transition, condition }: EntryFrames): string {
  const changed = condition === undefined ? "" : `,"condition":${condition}`;
  if (alarm !== undefined) return wrapAlarmFrame(alarm, changed);
  const named = id === undefined ? "" : `,"id":${id}`;
  return `{"type":"transition","seq":${seq}${named},"transition":${transition}${changed}}`;
}

function encodeEvent(event: SessionEvent): string {
  switch (event.type) {
    case "welcome": {
      const { position: _, ...welcome } = event;
      return encodeServerMessage(welcome);
    }
    case "gap":
      return encodeServerMessage({
        type: "gap",
        since: event.since,
        firstAvailable: event.firstAvailable,
      });
    default:
      return encodeServerMessage(event);
  }
}

/** The `alarms.v1` format, shared by every v1 socket. */
export const V1_CODEC: Codec = new V1Codec();
