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
  LEGACY_PING,
  PROTOCOL_V1,
  wrapAlarmFrame,
} from "../core/mod.ts";
import type { Codec, Inbound, SessionEvent } from "../realtime/mod.ts";

/** What the old page gets: each alarm as the flat object it `JSON.parse`s, nothing else. */
export const LEGACY_CODEC: Codec = {
  name: "legacy",
  events: false,
  alarm: (_seq: number, json: string) => json,
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
  #lastJson = "";
  #lastFrame = "";
  #lastEvent: SessionEvent | undefined;
  #lastEventFrame = "";

  alarm(_seq: number, json: string): string {
    if (json !== this.#lastJson) {
      this.#lastFrame = wrapAlarmFrame(json);
      this.#lastJson = json;
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
    return decoded.ok
      ? { kind: "message", message: decoded.message }
      : { kind: "invalid", code: decoded.code, message: decoded.message };
  }
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
