/**
 * What the server does with a text frame from a client, once liveness has been noted.
 *
 * @module
 */
import { type ClientMessage, CLOSE_POLICY, idMatches, quote, type Ref } from "../core/mod.ts";
import type { Metrics } from "../observe/mod.ts";
import type { SessionEvent } from "./codec.ts";
import type { Registry } from "./registry.ts";
import type { Session } from "./session.ts";

/**
 * What inbound handling may do besides replying. Each of `send`, `ack` and `act` answers the
 * message itself once it is carried out (`ok`, when it has a `ref`) or refused (`error`).
 */
export interface InboundContext {
  registry: Registry;
  metrics: Metrics;
  /** Routes a `message` event to every session of `to` whose format carries it. */
  send(to: string, event: SessionEvent & { type: "message" }, ref: Ref | undefined): void;
  /** Records an acknowledgement up to `seq`. */
  ack(seq: number, ref: Ref | undefined): void;
  /** Acts on a condition. */
  act(message: ClientMessage & { type: "act" }): void;
}

/** Invalid v1 messages in a row before the socket is closed with 1008. */
export const MAX_STRIKES = 5;

/**
 * Handles one text frame of `session` as its format reads it: heartbeats, `ping`, `send` and
 * `ack`; invalid messages are answered with an error (where the format has a place for one)
 * and closed after {@linkcode MAX_STRIKES} in a row.
 */
export function receiveText(context: InboundContext, session: Session, text: string): void {
  const { registry, metrics } = context;
  if (!session.bucket.take(session.lastSeen)) {
    metrics.error("rate_limited");
    registry.close(session, CLOSE_POLICY, "rate limit exceeded");
    return;
  }
  const inbound = session.codec.decode(text);
  if (inbound.kind === "ignored") {
    metrics.error(inbound.metric);
    return;
  }
  if (inbound.kind === "invalid") {
    // A refusal (no strike) counts nothing, as the action's other refusals.
    if (inbound.strike !== false) metrics.error("invalid_message");
    // Every invalid message gets its error, the last one too, just before the close.
    const { code, message, ref } = inbound;
    registry.sendEvent(session, { type: "error", code, message, ...referred(ref) });
    // Not a strike: a well-formed message refused, which resets the count as any valid one.
    if (inbound.strike === false) session.strikes = 0;
    else if (++session.strikes >= MAX_STRIKES) {
      registry.close(session, CLOSE_POLICY, "too many invalid messages");
    }
    return;
  }
  session.strikes = 0;
  const message = inbound.message;
  const { ref } = message;
  switch (message.type) {
    case "ping":
      registry.sendEvent(session, {
        type: "pong",
        serverTime: new Date(session.lastSeen).toISOString(),
        ...referred(ref),
      });
      break;
    case "send": {
      const { to, data } = message;
      // With tokens in use, a session may send only where its token's `send` claim allows.
      if (session.grant && !session.grant.send.some((pattern) => idMatches(pattern, to))) {
        metrics.error("forbidden");
        const text = `The connection token does not allow sending to ${quote(to)}`;
        registry.sendEvent(session, {
          type: "error",
          code: "forbidden",
          message: text,
          ...referred(ref),
        });
      } else context.send(to, { type: "message", from: session.id, data }, ref);
      break;
    }
    case "ack":
      context.ack(message.seq, ref);
      break;
    case "act":
      context.act(message);
      break;
  }
}

/** The members a reply adds for `ref`: `{ref}`, or none. */
export function referred(ref: Ref | undefined): { ref?: Ref } {
  return ref === undefined ? {} : { ref };
}
