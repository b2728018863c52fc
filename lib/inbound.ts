/**
 * What the server does with a text frame from a client, once liveness has been noted.
 *
 * @module
 */
import { CLOSE_POLICY } from "./close_codes.ts";
import type { Metrics } from "./metrics.ts";
import { decodeClientMessage, encodeServerMessage, LEGACY_PING, PROTOCOL_V1 } from "./protocol.ts";
import type { Registry } from "./registry.ts";
import type { Session } from "./session.ts";

/** Invalid v1 messages in a row before the socket is closed with 1008. */
export const MAX_STRIKES = 5;

/** Handles one text frame of `session`: legacy heartbeats, or v1 `ping`, `send` and `ack`. */
export function receiveText(
  registry: Registry,
  metrics: Metrics,
  session: Session,
  text: string,
): void {
  if (session.protocol !== PROTOCOL_V1) {
    // The old page sends only PING and must never get anything but alarms back.
    if (text !== LEGACY_PING) metrics.error("legacy_ignored");
    return;
  }
  const decoded = decodeClientMessage(text);
  if (!decoded.ok) {
    metrics.error("invalid_message");
    if (++session.strikes >= MAX_STRIKES) {
      registry.close(session, CLOSE_POLICY, "too many invalid messages");
    } else {
      const { code, message } = decoded;
      registry.send(session, encodeServerMessage({ type: "error", code, message }));
    }
    return;
  }
  session.strikes = 0;
  const message = decoded.message;
  switch (message.type) {
    case "ping": {
      const serverTime = new Date(session.lastSeen).toISOString();
      registry.send(session, encodeServerMessage({ type: "pong", serverTime }));
      break;
    }
    case "send": {
      const { to, data } = message;
      registry.deliverV1(
        to,
        encodeServerMessage({ type: "message", from: session.id, data }),
        session,
      );
      break;
    }
    case "ack":
      session.ackedSeq = Math.max(session.ackedSeq, message.seq);
      break;
  }
}
