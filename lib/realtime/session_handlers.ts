/**
 * One socket's lifecycle: registering it and greeting it, catching it up, routing what it sends,
 * and cleaning up (once) when it closes.
 *
 * @module
 */
import type { Presence } from "../cluster/mod.ts";
import {
  actorOf,
  ANONYMOUS_ACTOR,
  CLOSE_INTERNAL,
  CLOSE_POLICY,
  type Condition,
  type ConditionChange,
  decodeAction,
  inSnapshot,
  InvalidInput,
  type Ref,
} from "../core/mod.ts";
import { type Logger, type Metrics, reportSocketFault, reportStoreFault } from "../observe/mod.ts";
import type { SessionEvent } from "./codec.ts";
import type { Fanout } from "./fanout.ts";
import type { JoinHooks } from "./replay.ts";
import { receiveText, referred } from "./inbound.ts";
import type { Registry, Slot } from "./registry.ts";
import type { Session } from "./session.ts";
import type { SocketHandlers } from "./socket.ts";

/** The isolate-wide parts a session's handlers use. */
export interface SessionContext {
  registry: Registry;
  fanout: Fanout;
  presence: Presence;
  /** The id's conditions in the active list (shelved ones too). */
  activeConditions(id: string): Promise<Condition[]>;
  /** The `id` of the entry (alarm or transition) at `seq` of `target`'s log, if one is there. */
  entryIdAt(target: string, seq: number): Promise<string | number | undefined>;
  /** The highest seq the id's clients acknowledged, `null` before any. */
  acked(id: string): Promise<number | null>;
  /** Changes a condition (`Hub.change`, the one path for every client). */
  change(
    id: string,
    key: string,
    change: Exclude<ConditionChange, { action: "raise" }>,
  ): Promise<unknown>;
  /** Longest a shelving may last, in seconds. */
  maxShelveSeconds: number;
  /** Whether a session without a connection token may act on conditions (no API key set). */
  anonymousActions: boolean;
  /** Records and announces an acknowledgement (`Hub.ack`, the one path for every client). */
  ack(id: string, seq: number, sessionId: string): Promise<unknown>;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** This isolate's id, for the welcome. */
  instance: string;
  /** Milliseconds between heartbeats the client is asked for. */
  heartbeatIntervalMs: number;
  /** Messages a socket may send per second, sustained, and at once: told in the welcome. */
  messageRate: number;
  messageBurst: number;
}

/** Frames a session may send before its welcome; a client waits for it, so a few at most. */
const MAX_EARLY_FRAMES = 8;

/**
 * The handlers of one session, which replays after `since` when given. A class, so a socket
 * holds one small object rather than a closure per handler.
 */
export class SessionHandlers implements SocketHandlers {
  readonly #ctx: SessionContext;
  readonly #session: Session;
  readonly #since: number | undefined;
  readonly #slot: Slot | undefined;
  /** Frames a client with events sent before its welcome went out: answered after it. */
  #early: string[] | undefined;

  constructor(ctx: SessionContext, session: Session, since: number | undefined, slot?: Slot) {
    this.#ctx = ctx;
    this.#session = session;
    this.#since = since;
    this.#slot = slot;
    if (session.codec.events) this.#early = [];
  }

  onOpen(): void {
    const { registry, metrics, logger, presence, fanout } = this.#ctx;
    const session = this.#session;
    const since = this.#since;
    registry.add(session);
    presence.changed();
    metrics.sessionsOpened++;
    const { id, sessionId } = session;
    logger.log("info", "session opened", {
      id,
      sessionId,
      protocol: session.codec.name,
      // The client's, as `TRUSTED_PROXIES` lets it be known: who to look for behind a proxy.
      ...(this.#slot ? { address: this.#slot.address } : {}),
      ...(since === undefined ? {} : { since }),
    });
    fanout.join(session, since, this.#hooks()).catch((error) => {
      this.#storeFault(error, id);
      registry.close(session, CLOSE_INTERNAL, "store unavailable");
    });
  }

  /**
   * Formats with events: the welcome goes out once the id's head is known, then the id's active
   * conditions, before any alarm; a `gap` when `since` is older than retention. Formats without
   * (the old page) get alarms only.
   */
  #hooks(): JoinHooks {
    const session = this.#session;
    if (!session.codec.events) return {};
    const { sessionId, id } = session;
    const since = this.#since;
    const { instance, heartbeatIntervalMs: heartbeatInterval, messageRate, messageBurst } =
      this.#ctx;
    return {
      onReady: async (seq) => {
        // The active list as of at least `seq`, then every entry after `seq`: a client applies
        // an entry to a condition only if it is newer than the condition's own `seq`. With none
        // active, the welcome says so (no `conditions`) and no snapshot follows.
        // What the log holds at `since` now, for a client to check against what it saw there.
        // And how far the id's alarms are acknowledged, so a page shows what others did before.
        const [listed, sinceId, acked] = await Promise.all([
          this.#ctx.activeConditions(id),
          since !== undefined && since > 0 && since <= seq
            ? this.#ctx.entryIdAt(id, since)
            : undefined,
          this.#ctx.acked(id),
        ]);
        const conditions = listed.map(inSnapshot);
        this.#send({
          type: "welcome",
          sessionId,
          id,
          instance,
          seq,
          // Where a reconnect resumes: before the first alarm, from where the session went live,
          // instead of going live again and missing what came in between.
          position: since === undefined ? seq : Math.min(since, seq),
          serverTime: new Date(this.#ctx.now()).toISOString(),
          heartbeatInterval,
          messageRate,
          messageBurst,
          ...(conditions.length > 0 ? { conditions: conditions.length } : {}),
          ...(sinceId === undefined ? {} : { sinceId }),
          ...(acked === null ? {} : { acked }),
        });
        if (conditions.length > 0) {
          this.#ctx.registry.sendWhole(session, { type: "conditions", id, seq, conditions });
        }
        const early = this.#early ?? [];
        this.#early = undefined;
        for (const text of early) this.#receive(text);
      },
      onResync: async (seq) => {
        // No welcome comes before it: an empty list is sent too, to clear the client's.
        const conditions = (await this.#ctx.activeConditions(id)).map(inSnapshot);
        this.#ctx.registry.sendWhole(session, { type: "conditions", id, seq, conditions });
      },
      onGap: (since, firstAvailable) => this.#send({ type: "gap", id, since, firstAvailable }),
    };
  }

  onText(text: string): void {
    const session = this.#session;
    this.#ctx.metrics.framesIn++;
    session.lastSeen = this.#ctx.now();
    if (this.#early === undefined) return this.#receive(text);
    // Nothing is answered before the welcome, which says who the session is.
    if (this.#early.push(text) > MAX_EARLY_FRAMES) {
      this.#ctx.registry.close(session, CLOSE_POLICY, "too many messages before welcome");
    }
  }

  #receive(text: string): void {
    const { registry, metrics, fanout } = this.#ctx;
    const session = this.#session;
    receiveText(
      {
        registry,
        metrics,
        send: (to, event, ref) => {
          if (!this.#mayAct("Sending", ref)) return;
          this.#settle(fanout.relay(to, event, session.sessionId), ref, to, "Message not sent");
        },
        ack: (seq, ref) => {
          if (!this.#mayAct("Acknowledging", ref)) return;
          const acked = this.#ctx.ack(session.id, seq, session.sessionId);
          this.#settle(acked, ref, session.id, "Acknowledgement not recorded");
        },
        act: ({ action, key, fields, ref }) => {
          if (!this.#mayAct("Acting on a condition", ref)) return;
          const actor = {
            subject: session.grant && actorOf(session.grant),
            fallback: ANONYMOUS_ACTOR,
          };
          const now = this.#ctx.now();
          const changed = Promise.resolve()
            .then(() => decodeAction(action, fields, actor, now, this.#ctx.maxShelveSeconds))
            .then((change) => this.#ctx.change(session.id, key, change));
          this.#settle(changed, ref, session.id, "Change not recorded");
        },
      },
      session,
      text,
    );
  }

  onClose(code: number, reason: string): void {
    const { registry, fanout, presence, logger } = this.#ctx;
    const session = this.#session;
    registry.remove(session);
    registry.gone(session);
    this.#slot?.release(); // the connection is gone: its place is free
    // Deno may fire close twice, and a close the server started fires again later: once.
    if (session.ended) return;
    session.ended = true;
    session.onEnded?.();
    fanout.leave(session.id);
    presence.changed();
    // Closed by the server: what it sent (the peer's answer often echoes the code alone).
    const sent = session.closedWith;
    logger.log("info", "session closed", {
      id: session.id,
      sessionId: session.sessionId,
      by: sent ? "server" : "client",
      code: sent?.code ?? code,
      reason: sent?.reason ?? reason,
    });
  }

  close(code: number, reason: string): void {
    this.#ctx.registry.close(this.#session, code, reason);
  }

  onFault(kind: string, error?: unknown): void {
    reportSocketFault(this.#ctx.metrics, this.#ctx.logger, this.#session, kind, error);
  }

  // Acks and actions hide alarms and stop escalation, and messages reach other ids' consoles:
  // without a token, a socket may do them only while the HTTP API is open too, so a socket is
  // never a way around the API key. (With WS_TOKEN_SECRET set every socket has a token.)
  #mayAct(what: string, ref: Ref | undefined): boolean {
    if (this.#session.grant !== undefined || this.#ctx.anonymousActions) return true;
    this.#ctx.metrics.error("forbidden");
    this.#send({
      type: "error",
      code: "forbidden",
      message:
        `${what} takes a connection token while the API key is set (tokens need WS_TOKEN_SECRET)`,
      ...referred(ref),
    });
    return false;
  }

  // Answers a message once `work` is done: `ok` when it has a `ref`; an `error` when refused
  // (its input, or the state it meets) or not recorded (the store of `id`).
  #settle(work: Promise<unknown>, ref: Ref | undefined, id: string, unrecorded: string): void {
    work.then(
      () => {
        if (ref !== undefined) this.#send({ type: "ok", ref });
      },
      (error) => {
        const refused = error instanceof InvalidInput;
        if (!refused) this.#storeFault(error, id);
        this.#send({
          type: "error",
          code: refused ? error.code : "store_unavailable",
          message: refused ? error.message : unrecorded,
          ...referred(ref),
        });
      },
    );
  }

  #send(event: SessionEvent): void {
    this.#ctx.registry.sendEvent(this.#session, event);
  }

  #storeFault(error: unknown, id: string): void {
    reportStoreFault(this.#ctx.metrics, this.#ctx.logger, error, id);
  }
}
