/**
 * What the server does with a text frame from a client, once liveness has been noted.
 *
 * @module
 */
import {
  CLOSE_POLICY,
  decodeClientMessage,
  encodeServerMessage,
  idMatches,
  LEGACY_PING,
  PROTOCOL_V1,
  quote,
} from "../core/mod.ts";
import type { Metrics } from "../observe/mod.ts";
import type { Registry } from "./registry.ts";
import type { Session } from "./session.ts";

/** What inbound handling may do besides replying. */
export interface InboundContext {
  registry: Registry;
  metrics: Metrics;
  /** Routes an encoded `message` frame to every v1 session of `to`. */
  send(to: string, frame: string): void;
  /** Records an acknowledgement up to `seq`. */
  ack(seq: number): void;
}

/** Invalid v1 messages in a row before the socket is closed with 1008. */
export const MAX_STRIKES = 5;

/** Handles one text frame of `session`: legacy heartbeats, or v1 `ping`, `send` and `ack`. */
export function receiveText(context: InboundContext, session: Session, text: string): void {
  const { registry, metrics } = context;
  if (!session.bucket.take(session.lastSeen)) {
    metrics.error("rate_limited");
    registry.close(session, CLOSE_POLICY, "rate limit exceeded");
    return;
  }
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
      // With tokens in use, a session may send only where its token's `send` claim allows.
      if (session.grant && !session.grant.send.some((pattern) => idMatches(pattern, to))) {
        metrics.error("forbidden");
        const text = `The connection token does not allow sending to ${quote(to)}`;
        registry.send(
          session,
          encodeServerMessage({ type: "error", code: "forbidden", message: text }),
        );
      } else context.send(to, encodeServerMessage({ type: "message", from: session.id, data }));
      break;
    }
    case "ack":
      if (message.seq > session.lastSeq) {
        const code = "invalid_ack";
        const text =
          `Cannot acknowledge seq ${message.seq}: the session has received up to ${session.lastSeq}`;
        registry.send(session, encodeServerMessage({ type: "error", code, message: text }));
      } else context.ack(message.seq);
      break;
  }
}
