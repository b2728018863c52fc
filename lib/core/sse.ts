/**
 * The Server-Sent Events wire format of `/events`: alarm events (no `event:` line, so
 * `EventSource.onmessage` sees every alarm, as the old page's `onmessage` does), named control
 * events, comment heartbeats, and the cursor a stream resumes from. Pure functions only.
 *
 * A stream of one id (`/events/{id}`) numbers its events with the alarm's seq. A stream of
 * several ids (`/events?id=a&id=b`) numbers each event with the cursor of every id in it,
 * `a=5,b=7`: ids never contain `=` or `,`, so the form is unambiguous, and `Last-Event-ID`
 * brings back the position of each id, not only of the last one that had an alarm.
 *
 * @module
 */
import { isValidId, parseSeq, quote } from "./ids.ts";

/** Control events a stream sends besides alarms. */
export type SseControl =
  | {
    event: "welcome";
    sessionId: string;
    id: string;
    instance: string;
    /** The id's last seq when the stream went live. */
    seq: number;
    serverTime: string;
    /** How many conditions the `conditions` event that follows holds; absent: none. */
    conditions?: number;
  }
  | { event: "gap"; id: string; since: number; firstAvailable: number }
  /** A client of `id` acknowledged every alarm up to `seq`. */
  | { event: "ack"; id: string; seq: number }
  | { event: "close"; code: number; reason: string };

/** Most ids one stream may carry. */
export const MAX_STREAM_IDS = 32;

/**
 * The event of one alarm: its position as the event id (its seq, or the cursor of a stream of
 * several ids), the flat alarm object as data.
 */
export function sseAlarmFrame(eventId: number | string, alarmJson: string): string {
  return `id: ${eventId}\ndata: ${alarmJson}\n\n`;
}

/**
 * A control event. With `cursor` (welcome), the event also moves the stream's position, so a
 * reconnect before the first alarm resumes from where the stream went live.
 */
export function sseControlFrame(control: SseControl, cursor?: number | string): string {
  const { event, ...data } = control;
  const id = cursor === undefined ? "" : `id: ${cursor}\n`;
  return `${id}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A named event whose data is JSON already serialized; with `eventId`, it moves the stream's
 * position (a transition has a seq like an alarm).
 */
export function sseDataFrame(event: string, json: string, eventId?: number | string): string {
  const id = eventId === undefined ? "" : `id: ${eventId}\n`;
  return `${id}event: ${event}\ndata: ${json}\n\n`;
}

/** The first bytes of every stream: reconnection advice for `EventSource`, in milliseconds. */
export function sseRetryFrame(retryMs: number): string {
  return `retry: ${retryMs}\n\n`;
}

/** A heartbeat: a comment line, which `EventSource` ignores and proxies see as traffic. */
export const SSE_HEARTBEAT = ": ping\n\n";

/**
 * The cursor of a stream of several ids, in the map's order; entries below 0 (a position not
 * known yet) are left out.
 */
export function encodeCursor(cursor: ReadonlyMap<string, number>): string {
  return [...cursor].filter(([, seq]) => seq >= 0).map(([id, seq]) => `${id}=${seq}`).join(",");
}

/** The outcome of decoding a cursor. */
export type CursorResult =
  | { ok: true; cursor: Map<string, number> }
  | { ok: false; message: string };

/**
 * Decodes `a=5,b=7` (what {@linkcode encodeCursor} writes). Every entry must name a valid id
 * with a seq ({@linkcode parseSeq}); an id named twice keeps its lower seq.
 */
export function decodeCursor(text: string): CursorResult {
  const cursor = new Map<string, number>();
  if (text.length > MAX_STREAM_IDS * 150) {
    return { ok: false, message: "Cursor is too long" };
  }
  for (const entry of text.split(",")) {
    const at = entry.lastIndexOf("=");
    const id = entry.slice(0, at);
    const seq = parseSeq(entry.slice(at + 1));
    if (at < 0 || !isValidId(id) || seq === undefined) {
      return { ok: false, message: `Cursor entry ${quote(entry)} is not "<id>=<seq>"` };
    }
    // Named twice: the lower position, so nothing is skipped (the client drops repeats).
    cursor.set(id, Math.min(seq, cursor.get(id) ?? seq));
  }
  return { ok: true, cursor };
}
