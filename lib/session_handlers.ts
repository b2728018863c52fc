/**
 * One socket's lifecycle: registering it and greeting it, catching it up, routing what it sends,
 * and cleaning up (once) when it closes.
 *
 * @module
 */
import { CLOSE_INTERNAL } from "./close_codes.ts";
import type { Fanout } from "./fanout.ts";
import { reportSocketFault, reportStoreFault } from "./faults.ts";
import { receiveText } from "./inbound.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Presence } from "./presence.ts";
import { encodeServerMessage, PROTOCOL_V1, type ServerMessage } from "./protocol.ts";
import type { Registry } from "./registry.ts";
import type { Session } from "./session.ts";
import type { AlarmStore } from "./store.ts";
import type { SocketHandlers } from "./upgrade.ts";

/** The isolate-wide parts a session's handlers use. */
export interface SessionContext {
  registry: Registry;
  fanout: Fanout;
  presence: Presence;
  store: AlarmStore;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** This isolate's id, for the welcome. */
  instance: string;
  /** Milliseconds between heartbeats the client is asked for. */
  heartbeatIntervalMs: number;
}

/** The handlers of `session`, which replays after `since` when given. */
export function sessionHandlers(
  ctx: SessionContext,
  session: Session,
  since: number | undefined,
): SocketHandlers {
  const { registry, metrics, logger } = ctx;
  const sendV1 = (message: ServerMessage) => registry.send(session, encodeServerMessage(message));
  const storeFault = (error: unknown, id: string) => reportStoreFault(metrics, logger, error, id);
  return {
    onOpen() {
      registry.add(session);
      ctx.presence.changed();
      metrics.sessionsOpened++;
      const { id, sessionId, protocol } = session;
      logger.log("info", "session opened", {
        id,
        sessionId,
        protocol,
        ...(since === undefined ? {} : { since }),
      });
      // v1: the welcome goes out once the id's head is known, before any alarm.
      const hooks = protocol !== PROTOCOL_V1 ? {} : {
        onReady: (seq: number) => {
          const serverTime = new Date(ctx.now()).toISOString();
          const { instance, heartbeatIntervalMs: heartbeatInterval } = ctx;
          sendV1({ type: "welcome", sessionId, id, instance, seq, serverTime, heartbeatInterval });
        },
        onGap: (firstAvailable: number) =>
          sendV1({ type: "gap", since: since ?? 0, firstAvailable }),
      };
      ctx.fanout.join(session, since, hooks).catch((error) => {
        storeFault(error, id);
        registry.close(session, CLOSE_INTERNAL, "store unavailable");
      });
    },
    onText(text) {
      metrics.framesIn++;
      session.lastSeen = ctx.now();
      receiveText(
        {
          registry,
          metrics,
          send: (to, frame) =>
            ctx.fanout.relay(to, frame, session.sessionId).catch((error) => {
              storeFault(error, to);
              sendV1({ type: "error", code: "store_unavailable", message: "Message not sent" });
            }),
          ack: (seq) => {
            session.ackedSeq = Math.max(session.ackedSeq, seq);
            ctx.store.ack(session.id, seq).catch((error) => storeFault(error, session.id));
          },
        },
        session,
        text,
      );
    },
    onClose(code, reason) {
      registry.remove(session);
      // Deno may fire close twice, and a close the server started fires again later: once.
      if (session.ended) return;
      session.ended = true;
      session.onEnded?.();
      ctx.fanout.leave(session.id);
      ctx.presence.changed();
      logger.log("info", "session closed", {
        id: session.id,
        sessionId: session.sessionId,
        code,
        reason,
      });
    },
    onFault: (kind, error) => reportSocketFault(metrics, logger, session, kind, error),
  };
}
