/**
 * Events one instance hands to the sessions of another through the store's change feed (a `send`
 * between clients, an acknowledgement): written as plain objects, read back with guards, since
 * another instance, perhaps of another version, wrote them.
 *
 * @module
 */
import { isJsonObject } from "../core/mod.ts";
import type { SessionEvent } from "./codec.ts";

/** The events that travel between instances. */
export type RelayedEvent = Extract<SessionEvent, { type: "message" | "ack" }>;

/**
 * Reads a relayed event as the feed holds it, or `undefined` for anything else. Instances of
 * 0.5 wrote a finished v1 frame (`frame`) instead of the event: it is read the same way.
 */
export function readRelayed(entry: { event?: unknown; frame?: unknown }): RelayedEvent | undefined {
  let value = entry.event;
  if (value === undefined && typeof entry.frame === "string") {
    // Checked when the sender took it; a number beyond 2^53 in it passes as it did then.
    try {
      value = JSON.parse(entry.frame);
    } catch {
      value = undefined;
    }
  }
  if (!isJsonObject(value)) return undefined;
  if (value.type === "message" && typeof value.from === "string" && "data" in value) {
    return { type: "message", from: value.from, data: value.data };
  }
  if (
    value.type === "ack" && typeof value.id === "string" && typeof value.seq === "number" &&
    Number.isSafeInteger(value.seq)
  ) {
    return { type: "ack", id: value.id, seq: value.seq };
  }
  return undefined;
}
