/**
 * The contract between the realtime core and the edges that carry sessions: a session has a
 * {@linkcode Codec}, the wire format chosen once when it connects, and a {@linkcode Transport},
 * what its connection can do. The core asks these and never names a format or a transport; the
 * adapters (`http/upgrade.ts` for WebSockets, `http/events.ts` for Server-Sent Events) supply
 * them.
 *
 * @module
 */
import type { ClientMessage, DecodeResult, EntryFrames, ServerMessage } from "../core/mod.ts";

/** What a session's connection can do, asked instead of its name. */
export interface Transport {
  /** The client can send frames; what it sends is read with its codec. */
  readonly bidirectional: boolean;
  /**
   * The client proves it is alive by sending (and is closed when it stops); otherwise the
   * server's own writes find out, and the heartbeat timeout doesn't apply.
   */
  readonly clientHeartbeats: boolean;
}

/**
 * What the core tells a session besides alarms: the events of `core/protocol.ts`, plus what
 * other formats need (the welcome's resume position, the gap's id).
 */
export type SessionEvent =
  | (Extract<ServerMessage, { type: "welcome" }> & {
    /** Where the session resumes from if it reconnects now (its `since`, or `seq`). */
    position: number;
  })
  | (Extract<ServerMessage, { type: "gap" }> & { id: string })
  | Exclude<ServerMessage, { type: "welcome" | "gap" | "alarm" }>;

/** A client's text frame as its codec reads it. */
export type Inbound =
  | { kind: "message"; message: ClientMessage }
  /**
   * Not a valid message: answered with an error (with its `ref`), and counted as a strike unless
   * `strike` is false (a field an operator got wrong, answered like a refused action: it resets
   * the count as a valid message does).
   */
  | ({ kind: "invalid" } & Omit<Extract<DecodeResult, { ok: false }>, "ok">)
  /** Text the format has no use for: dropped and counted under `metric`, never answered. */
  | { kind: "ignored"; metric: string };

/** A wire format: how alarms and events become frames, and how client frames are read. */
export interface Codec {
  /** The format's name, as the sessions API shows it. */
  readonly name: string;
  /** Whether the format carries events (welcome, gap, acks, conditions) besides alarms. */
  readonly events: boolean;
  /**
   * The frame of a log entry (an alarm, or a condition's transition) from its JSON, serialized
   * once for every session; `undefined` where the format has no place for it.
   */
  entry(frames: EntryFrames): string | undefined;
  /** The frame of `event`, or `undefined` where the format has no place for it. */
  event(event: SessionEvent): string | undefined;
  /** Reads a text frame from the client. Never throws. */
  decode(text: string): Inbound;
}

/** How a session is carried: its wire format over its transport. */
export interface Wire {
  readonly codec: Codec;
  readonly transport: Transport;
}
