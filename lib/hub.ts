/**
 * The hub ties sessions to the registry, the durable store and cross-isolate fan-out: it opens
 * and closes sessions, publishes alarms, routes what clients send, and closes sessions that
 * stopped heartbeating.
 *
 * @module
 */
import type { PreparedAlarm } from "./alarm.ts";
import { CLOSE_INTERNAL } from "./close_codes.ts";
import { drain, sweepSilent } from "./drain.ts";
import { Fanout } from "./fanout.ts";
import { reportSocketFault, reportStoreFault } from "./faults.ts";
import { receiveText } from "./inbound.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { Presence } from "./presence.ts";
import { encodeServerMessage, type Protocol, PROTOCOL_V1, type ServerMessage } from "./protocol.ts";
import { Registry } from "./registry.ts";
import { type PushSocket, Session } from "./session.ts";
import type { AlarmStore } from "./store.ts";
import type { SocketHandlers } from "./upgrade.ts";

/** Dependencies and settings of a {@linkcode Hub}. */
export interface HubOptions {
  /** The durable alarm log. */
  store: AlarmStore;
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

/** The result of publishing one alarm to one target. */
export interface Published {
  id: string | number;
  seq: number;
  target: string;
  /** Sessions on this isolate it was handed to (other isolates get it through KV). */
  delivered: number;
  /** Present and true when the idempotency key was seen before: nothing was delivered. */
  duplicate?: true;
}

/** Session lifecycle, inbound routing and fan-out for one isolate. */
export class Hub {
  /** The sessions of this isolate. */
  readonly registry: Registry;
  /** Sessions per id across isolates. */
  readonly presence: Presence;
  /** This isolate's id, unique per process start. */
  readonly instance: string = crypto.randomUUID();
  readonly #options: HubOptions;
  readonly #fanout: Fanout;

  constructor(options: HubOptions) {
    this.#options = options;
    this.registry = new Registry(options.metrics, options.slowConsumerBytes);
    const onError = (error: unknown, id?: string) => this.#storeFault(error, id);
    const { store, now } = options;
    this.#fanout = new Fanout(store, this.registry, onError);
    this.presence = new Presence(store.kv, this.registry, this.instance, now, onError);
  }

  /** The durable alarm log. */
  get store(): AlarmStore {
    return this.#options.store;
  }

  /** Interval at which clients are told to heartbeat: a third of the timeout. */
  get heartbeatIntervalMs(): number {
    return Math.floor(this.#options.heartbeatTimeoutMs / 3);
  }

  /** Creates the handlers for a socket of `id` speaking `protocol`, replaying after `since`. */
  attach(id: string, protocol: Protocol, since?: number): (socket: PushSocket) => SocketHandlers {
    return (socket) => {
      const session = new Session(socket, id, protocol, this.#options.now());
      return {
        onOpen: () => this.#open(session, since),
        onText: (text) => this.#receive(session, text),
        onClose: (code, reason) => this.#closed(session, code, reason),
        onFault: (kind, error) =>
          reportSocketFault(this.#options.metrics, this.#options.logger, session, kind, error),
      };
    };
  }

  /** Stores `prepared` for `target` (unless `idempotencyKey` was used) and delivers it. */
  async publish(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
  ): Promise<Published> {
    const appended = await this.#options.store.append(target, prepared, idempotencyKey);
    if (appended.duplicate) {
      return { id: appended.id, seq: appended.seq, target, delivered: 0, duplicate: true };
    }
    const { alarm } = appended;
    this.#options.metrics.alarmsPublished++;
    const delivered = await this.#fanout.published(alarm);
    return { id: alarm.id, seq: alarm.seq, target, delivered };
  }

  /** Closes sessions that sent nothing within the heartbeat timeout. Returns how many. */
  sweep(): number {
    return sweepSilent(this.registry, this.#options.now() - this.#options.heartbeatTimeoutMs);
  }

  /** Closes every session with 1012 and waits up to `graceMs` for the handshakes; stops timers. */
  async shutdown(graceMs: number): Promise<void> {
    this.#fanout.close();
    await drain(this.registry, graceMs);
    await this.presence.stop();
  }

  #open(session: Session, since: number | undefined): void {
    this.registry.add(session);
    this.presence.changed();
    this.#options.metrics.sessionsOpened++;
    this.#options.logger.log("info", "session opened", {
      id: session.id,
      sessionId: session.sessionId,
      protocol: session.protocol,
      ...(since === undefined ? {} : { since }),
    });
    if (session.protocol === PROTOCOL_V1) {
      this.#sendV1(session, {
        type: "welcome",
        sessionId: session.sessionId,
        id: session.id,
        instance: this.instance,
        serverTime: new Date(this.#options.now()).toISOString(),
        heartbeatInterval: this.heartbeatIntervalMs,
      });
    }
    const onGap = session.protocol === PROTOCOL_V1
      ? (firstAvailable: number) =>
        this.#sendV1(session, { type: "gap", since: since ?? 0, firstAvailable })
      : undefined;
    this.#fanout.join(session, since, onGap).catch((error) => {
      this.#storeFault(error, session.id);
      this.registry.close(session, CLOSE_INTERNAL, "store unavailable");
    });
  }

  #receive(session: Session, text: string): void {
    this.#options.metrics.framesIn++;
    session.lastSeen = this.#options.now();
    receiveText(
      {
        registry: this.registry,
        metrics: this.#options.metrics,
        send: (to, frame) =>
          this.#fanout.relay(to, frame, session.sessionId).catch((error) => {
            this.#storeFault(error, to);
            const message = "Message not sent";
            this.#sendV1(session, { type: "error", code: "store_unavailable", message });
          }),
        ack: (seq) => {
          session.ackedSeq = Math.max(session.ackedSeq, seq);
          this.#options.store.ack(session.id, seq).catch((e) => this.#storeFault(e, session.id));
        },
      },
      session,
      text,
    );
  }

  #closed(session: Session, code: number, reason: string): void {
    this.registry.remove(session);
    // Deno may fire close twice, and a close the server started fires again later: handle once.
    if (session.ended) return;
    session.ended = true;
    session.onEnded?.();
    this.#fanout.leave(session.id);
    this.presence.changed();
    this.#options.logger.log("info", "session closed", {
      id: session.id,
      sessionId: session.sessionId,
      code,
      reason,
    });
  }

  #storeFault(error: unknown, id?: string): void {
    reportStoreFault(this.#options.metrics, this.#options.logger, error, id);
  }

  #sendV1(session: Session, message: ServerMessage): void {
    this.registry.send(session, encodeServerMessage(message));
  }
}
