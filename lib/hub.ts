/**
 * The hub ties sessions to the registry: it opens and closes sessions, handles what clients
 * send, publishes alarms, and closes sessions that stopped heartbeating.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "./alarm.ts";
import type { AlarmLog } from "./alarm_log.ts";
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_RESTART } from "./close_codes.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { receiveText } from "./inbound.ts";
import { encodeServerMessage, type Protocol, PROTOCOL_V1, type ServerMessage } from "./protocol.ts";
import { Registry } from "./registry.ts";
import { type PushSocket, Session } from "./session.ts";
import type { SocketHandlers } from "./upgrade.ts";

/** Dependencies and settings of a {@linkcode Hub}. */
export interface HubOptions {
  /** Assigns seqs (and, with a durable log, stores alarms). */
  log: AlarmLog;
  /** Counters for `/metrics`. */
  metrics: Metrics;
  /** Structured logger. */
  logger: Logger;
  /** Clock, injectable for tests. */
  now: () => number;
  /** Milliseconds without an inbound frame before a session is closed. */
  heartbeatTimeoutMs: number;
  /** `bufferedAmount` that marks a slow consumer. */
  slowConsumerBytes: number;
}

/** The result of publishing one alarm. */
export interface Published {
  /** The alarm as clients receive it. */
  alarm: Alarm;
  /** Sessions it was handed to. */
  delivered: number;
}

/** Session lifecycle, inbound routing and fan-out for one isolate. */
export class Hub {
  /** The sessions of this isolate. */
  readonly registry: Registry;
  readonly #options: HubOptions;

  constructor(options: HubOptions) {
    this.#options = options;
    this.registry = new Registry(options.metrics, options.slowConsumerBytes);
  }

  /** Interval at which clients are told to heartbeat: a third of the timeout. */
  get heartbeatIntervalMs(): number {
    return Math.floor(this.#options.heartbeatTimeoutMs / 3);
  }

  /** Creates the handlers for a socket of `id` speaking `protocol`. */
  attach(id: string, protocol: Protocol): (socket: PushSocket) => SocketHandlers {
    return (socket) => {
      const session = new Session(socket, id, protocol, this.#options.now());
      return {
        onOpen: () => this.#open(session),
        onText: (text) => this.#receive(session, text),
        onClose: (code, reason) => this.#closed(session, code, reason),
        onFault: (kind, error) => this.#fault(session, kind, error),
      };
    };
  }

  /** Records `prepared` for `target` and hands it to the target's sessions. */
  async publish(target: string, prepared: PreparedAlarm): Promise<Published> {
    const alarm = await this.#options.log.append(target, prepared);
    this.#options.metrics.alarmsPublished++;
    return { alarm, delivered: this.registry.deliverAlarm(alarm) };
  }

  /** Closes sessions that sent nothing within the heartbeat timeout. Returns how many. */
  sweep(): number {
    const deadline = this.#options.now() - this.#options.heartbeatTimeoutMs;
    let closed = 0;
    for (const session of [...this.registry.all()]) {
      if (session.lastSeen < deadline) {
        this.registry.close(session, CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
        closed++;
      }
    }
    return closed;
  }

  /**
   * Closes every session with 1012 so clients reconnect elsewhere or after the restart, and
   * resolves once each closing handshake finished or `graceMs` passed. Deno's `close()` is
   * asynchronous: stopping the server before the handshakes finish would replace our 1012 with
   * its own 1001.
   */
  shutdown(graceMs: number): Promise<void> {
    const sessions = [...this.registry.all()];
    const ended = sessions.map((session) =>
      new Promise<void>((resolve) => session.onEnded = resolve)
    );
    this.registry.closeAll(CLOSE_RESTART, "service restart");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    return Promise.race([Promise.all(ended), timeout]).then(() => clearTimeout(timer));
  }

  #open(session: Session): void {
    this.registry.add(session);
    this.#options.metrics.sessionsOpened++;
    this.#options.logger.log("info", "session opened", {
      id: session.id,
      sessionId: session.sessionId,
      protocol: session.protocol,
    });
    if (session.protocol === PROTOCOL_V1) {
      this.#sendV1(session, {
        type: "welcome",
        sessionId: session.sessionId,
        id: session.id,
        serverTime: new Date(this.#options.now()).toISOString(),
        heartbeatInterval: this.heartbeatIntervalMs,
      });
    }
  }

  #receive(session: Session, text: string): void {
    this.#options.metrics.framesIn++;
    session.lastSeen = this.#options.now();
    receiveText(this.registry, this.#options.metrics, session, text);
  }

  #closed(session: Session, code: number, reason: string): void {
    this.registry.remove(session);
    // Deno may fire close twice, and a close the server started fires again later: log once.
    if (session.ended) return;
    session.ended = true;
    session.onEnded?.();
    this.#options.logger.log("info", "session closed", {
      id: session.id,
      sessionId: session.sessionId,
      code,
      reason,
    });
  }

  #fault(session: Session, kind: string, error: unknown): void {
    this.#options.metrics.error(kind);
    this.#options.logger.log(kind === "socket_handler" ? "error" : "warn", "socket fault", {
      id: session.id,
      sessionId: session.sessionId,
      kind,
      ...(error instanceof Error ? { error: error.message } : {}),
    });
  }

  #sendV1(session: Session, message: ServerMessage): void {
    this.registry.send(session, encodeServerMessage(message));
  }
}
