/**
 * The hub ties sessions to the registry, the durable store and cross-isolate fan-out: it opens
 * and closes sessions, publishes alarms, routes what clients send, and closes sessions that
 * stopped heartbeating.
 *
 * @module
 */
import {
  type Arrivals,
  Discovery,
  Presence,
  type PresenceRecords,
  SNAPSHOT_MS,
} from "../cluster/mod.ts";
import {
  type Alarm,
  type AlarmPerformance,
  type Clock,
  type Condition,
  type ConditionChange,
  type Grant,
  heartbeatIntervalMs,
  inActiveList,
  InvalidInput,
  isShelved,
  measurePerformance,
  type PreparedAlarm,
  RATE_SAMPLE,
  StoreError,
  systemClock,
  timeOf,
  transitionOf,
} from "../core/mod.ts";

import { type Logger, type Metrics, reportStoreFault } from "../observe/mod.ts";
import type { AlarmLog, DueSpec, RelayedMessage } from "../store/mod.ts";
import type { Wire } from "./codec.ts";
import { type IdRates, RecentRaises } from "./recent_raises.ts";
import { drain, sweepSessions } from "./drain.ts";
import { Fanout, type FanoutStore } from "./fanout.ts";
import { Registry, type Slot } from "./registry.ts";
import { Session } from "./session.ts";
import { ShelvingEnds, type ShelvingRecords } from "./shelving_ends.ts";
import { type SessionContext, SessionHandlers } from "./session_handlers.ts";
import type { PushSocket, SocketHandlers } from "./socket.ts";

/** An id across instances, as the sessions API shows it. */
export interface IdStatus {
  /** Sessions of the id. */
  count: number;
  /** Its last seq. */
  seq: number;
  /** The highest seq any of its clients acknowledged; null if none ever did. */
  acked: number | null;
  /** Alarms after `acked` (operators' actions left out); null like `acked`. */
  unacknowledged: number | null;
}

/**
 * Newest log entries read to leave operators' actions out of an id's unacknowledged count (as
 * many as the flood figures read: a polled route reads no more).
 */
export const UNACKNOWLEDGED_SAMPLE = RATE_SAMPLE;

/** The limits a hub enforces (see the configuration of the same names). */
export interface HubLimits {
  /** Milliseconds without any inbound frame before a session is closed. */
  heartbeatTimeoutMs: number;
  /** `bufferedAmount` above which a socket is closed as a slow consumer. */
  slowConsumerBytes: number;
  /** Messages per second a socket may send, sustained. */
  messageRate: number;
  /** Messages a socket may send in a burst. */
  messageBurst: number;
  /** Longest an operator may shelve a condition for, in seconds. */
  maxShelveSeconds: number;
  /**
   * Whether a socket without a connection token may acknowledge or act on conditions: only while
   * the HTTP API is open too (no API key), so a socket is never a way around the key.
   */
  anonymousActions: boolean;
}

/**
 * Escalation deadlines, as the hub sees them: which an alarm gets on publish (an in-memory
 * lookup), stored in the same commit as the alarm.
 */
export interface Deadlines {
  /** The alarm to store instead (stamped with its deadline) and the deadline, if it has one. */
  deadlineFor(
    target: string,
    prepared: PreparedAlarm,
  ): { prepared: PreparedAlarm; due: DueSpec } | undefined;
  /** Called once an alarm with deadline `at` is stored. */
  scheduled(at: number): void;
}

/**
 * The store, as the hub uses it: what fan-out, presence and discovery need, plus appending,
 * acknowledgements, and whether commits announce themselves on the change feed.
 */
export interface HubStore
  extends FanoutStore, PresenceRecords, Arrivals, ShelvingRecords, Pick<AlarmLog, "append"> {
  /** Milliseconds a store call, or an append from queueing to commit, may take. */
  readonly timeoutMs: number;
  /** How often watched keys are also read, if at all (a SQLite file shared by processes). */
  readonly pollMs: number | undefined;
  /** Watch streams open now. */
  readonly watches: number;
  /** Records an ack of `target` up to `seq` and relays `message` in the same commit. */
  ack(target: string, seq: number, message: RelayedMessage): Promise<void>;
  /** Condition `key` of `target`, if it was ever raised. */
  condition(target: string, key: string): Promise<Condition | undefined>;
  /** Every condition of `target` ever raised. */
  conditions(target: string): Promise<Condition[]>;
  /** The highest seq acknowledged for `target`, or null if never. */
  acked(target: string): Promise<number | null>;
  /** Fails (`StoreError`) while the store can't be written. */
  probe(instance: string): Promise<void>;
  /** Alone on the store: commits stop appending to the change feed (see `cluster/discovery.ts`). */
  stopFeedWrites(): void;
  /** Others write the store too: every commit appends to the change feed. */
  startFeedWrites(): void;
}

/** Dependencies and settings of a {@linkcode Hub}. */
export interface HubOptions {
  /** The durable store. */
  store: HubStore;
  /** Counters for `/metrics`. */
  metrics: Metrics;
  /** Structured logger. */
  logger: Logger;
  /** Clock, injectable for tests. */
  now: () => number;
  /** Timers for what is due (the ends of shelvings); real ones reading `now` by default. */
  clock?: Clock;
  /** Heartbeat timeout, slow-consumer threshold and inbound message rate. */
  limits: HubLimits;
  /** Escalation deadlines of published alarms; none without. */
  deadlines?: Deadlines;
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
  readonly #registry: Registry;
  /** Sessions per id across isolates. */
  readonly #presence: Presence;
  /** This isolate's id, unique per process start. */
  readonly instance: string = crypto.randomUUID();
  readonly #options: HubOptions;
  readonly #fanout: Fanout;
  readonly #discovery: Discovery;
  readonly #context: SessionContext;
  /** This isolate's recent raises, for the alarm-rate gauges. */
  readonly #recent = new RecentRaises();
  /** Ends shelvings when their time is up. */
  readonly #shelvingEnds: ShelvingEnds;
  /** The last store probe started (`instances`), and when. */
  #probing: { at: number; done: Promise<void> } | undefined;

  constructor(options: HubOptions) {
    this.#options = options;
    this.#registry = new Registry(options.metrics, options.limits.slowConsumerBytes);
    const onError = (error: unknown, id?: string) =>
      reportStoreFault(options.metrics, options.logger, error, id);
    const { store, now } = options;
    this.#fanout = new Fanout(store, this.#registry, this.instance, onError);
    this.#shelvingEnds = new ShelvingEnds(
      store,
      (target, key) => this.change(target, key, { action: "expire" }),
      options.clock ?? systemClock(now),
      onError,
    );
    this.#presence = new Presence(store, this.#registry, this.instance, now, onError);
    this.#discovery = new Discovery(store, this.#presence, this.instance, {
      onAlone: () => {
        store.stopFeedWrites();
        this.#fanout.stopFollowing();
      },
      onJoined: () => {
        store.startFeedWrites();
        this.#fanout.follow();
      },
      onError,
    });
    this.#context = {
      registry: this.#registry,
      fanout: this.#fanout,
      presence: this.#presence,
      ack: (id, seq, sessionId) => this.ack(id, seq, sessionId),
      activeConditions: (id) => this.activeConditions(id),
      entryIdAt: (target, seq) => this.entryIdAt(target, seq),
      acked: (id) => this.#options.store.acked(id),
      change: (id, key, change) => this.change(id, key, change),
      maxShelveSeconds: options.limits.maxShelveSeconds,
      anonymousActions: options.limits.anonymousActions,
      metrics: options.metrics,
      logger: options.logger,
      now,
      instance: this.instance,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      messageRate: options.limits.messageRate,
      messageBurst: options.limits.messageBurst,
    };
  }

  /**
   * Starts presence, and learns whether other isolates share the store: until then, and from
   * when one shows up, other isolates' alarms are followed through the store's change feed.
   */
  async start(): Promise<void> {
    this.#presence.start();
    this.#shelvingEnds.start(); // ends missed while no instance ran, first
    // Not knowing is treated as not alone: the feed stays followed.
    await this.#discovery.start().catch((error) =>
      reportStoreFault(this.#options.metrics, this.#options.logger, error)
    );
  }

  /** Whether alarms of other isolates are followed through the store's feed (not while alone). */
  get following(): boolean {
    return this.#fanout.following;
  }

  /**
   * How alarms published elsewhere reach this isolate: `local` while alone on the store (they
   * can't be), `feed` through the change feed's watch, `feed+poll` also reading it every
   * `pollMs` (a SQLite file shared by processes).
   */
  get delivery(): "local" | "feed" | "feed+poll" {
    if (!this.#fanout.following) return "local";
    return this.#options.store.pollMs === undefined ? "feed" : "feed+poll";
  }

  /** KV watch streams this isolate holds open. */
  get watches(): number {
    return this.#options.store.watches;
  }

  /** The stored alarms of `target` after `after` (at most `limit`), and its head seq. */
  async history(
    target: string,
    after: number,
    limit: number,
  ): Promise<{ seq: number; alarms: Alarm[] }> {
    const { store } = this.#options;
    const [alarms, seq] = await Promise.all([store.read(target, after, limit), store.head(target)]);
    return { seq, alarms };
  }

  /** The seq of `target`'s latest entry (0 for none). */
  head(target: string): Promise<number> {
    return this.#options.store.head(target);
  }

  /** Sessions per id across every isolate and instance sharing the store. */
  online(): Promise<Map<string, number>> {
    return this.#presence.counts();
  }

  /**
   * How many isolates (this one included) share the store, as presence sees them, once a write
   * to the store succeeded: throws `StoreError` while the store can't be read or written.
   */
  async instances(): Promise<number> {
    const [snapshot] = await Promise.all([this.#presence.snapshot(), this.#probe()]);
    return snapshot.instances;
  }

  // One probe write serves every health check for a second, as one presence read does: a flood
  // of `/healthz` (anyone may ask) costs the store a write a second, not one each. Real time:
  // it paces the store, whatever clock the rest reads.
  #probe(): Promise<void> {
    const now = performance.now();
    if (this.#probing === undefined || now - this.#probing.at >= SNAPSHOT_MS) {
      this.#probing = { at: now, done: this.#options.store.probe(this.instance) };
    }
    return this.#probing.done;
  }

  /** Sessions open on this isolate. */
  get size(): number {
    return this.#registry.size;
  }

  /** Sessions the server closed whose peer has not let go yet. */
  get closing(): number {
    return this.#registry.closing;
  }

  /** Closes every session of this isolate with `code` and `reason` (a restart, in tests). */
  closeAll(code: number, reason: string): void {
    this.#registry.closeAll(code, reason);
  }

  /** Writes this isolate's presence now instead of at its next refresh. */
  flushPresence(): Promise<void> {
    return this.#presence.flush();
  }

  /** Ids with at least one session on this isolate. */
  get idCount(): number {
    return this.#registry.idCount;
  }

  /** Sessions of `id` on this isolate. */
  countOf(id: string): number {
    return this.#registry.countOf(id);
  }

  /** This isolate's sessions of `id`. */
  sessionsOf(id: string): ReadonlySet<Session> {
    return this.#registry.sessionsOf(id);
  }

  /**
   * `id` across instances: sessions, head seq, the highest acknowledged seq and the alarms after
   * it (both null if no client of it ever acknowledged).
   */
  async status(id: string): Promise<IdStatus> {
    const { store } = this.#options;
    const [online, seq, acked] = await Promise.all([
      this.#presence.counts(),
      store.head(id),
      store.acked(id),
    ]);
    const count = online.get(id) ?? 0;
    if (acked === null) return { count, seq, acked, unacknowledged: null };
    if (acked >= seq) return { count, seq, acked, unacknowledged: 0 };
    // Operators' actions take seqs too, and are nobody's to acknowledge: those among the newest
    // entries are left out; an older or expired entry counts as an alarm.
    const from = Math.max(acked, seq - UNACKNOWLEDGED_SAMPLE);
    const entries = await store.read(id, from, seq - from);
    // An entry past `seq` (appended since the head was read, where some expired) isn't counted.
    const actions = entries.filter((e) => e.seq <= seq && e.transition !== undefined).length;
    return { count, seq, acked, unacknowledged: seq - acked - actions };
  }

  /** Interval at which clients are told to heartbeat. */
  get heartbeatIntervalMs(): number {
    return heartbeatIntervalMs(this.#options.limits.heartbeatTimeoutMs);
  }

  /**
   * Creates the handlers for a connection to `id` in wire format `wire.codec` over
   * `wire.transport`, replaying after `since`, with what its token grants; `slot` (see
   * {@linkcode hold}) is released when the connection is gone.
   */
  attach(
    id: string,
    wire: Wire,
    since?: number,
    grant?: Grant,
    slot?: Slot,
  ): (socket: PushSocket) => SocketHandlers {
    return (socket) => {
      const { messageRate: rate, messageBurst: burst } = this.#options.limits;
      const now = this.#options.now();
      const session = new Session(socket, id, wire, now, grant, { rate, burst });
      return new SessionHandlers(this.#context, session, since, slot);
    };
  }

  /**
   * Places taken on this isolate: connections admitted and not yet gone (opening, open, or
   * closed by the server and waiting for the peer). What session caps count.
   */
  get occupied(): number {
    return this.#registry.occupied;
  }

  /** Places taken by `id`, counted like {@linkcode occupied}. */
  occupiedBy(id: string): number {
    return this.#registry.occupiedBy(id);
  }

  /** Places taken from client `address`, counted like {@linkcode occupied}. */
  occupiedFrom(address: string): number {
    return this.#registry.occupiedFrom(address);
  }

  /** Takes a place for an admitted upgrade, until its connection is gone (or never opens). */
  hold(id: string, address: string): Slot {
    return this.#registry.hold(id, address);
  }

  /**
   * Stores `prepared` for `target` (unless `idempotencyKey` was used) and delivers it; answers
   * within the store's deadline, or fails with `StoreError`.
   */
  async publish(
    target: string,
    prepared: PreparedAlarm,
    idempotencyKey?: string,
  ): Promise<Published> {
    const by = performance.now() + this.#options.store.timeoutMs;
    const deadlines = this.#options.deadlines;
    const deadline = deadlines?.deadlineFor(target, prepared);
    const { key } = prepared.fields;
    const at = this.#options.now();
    // An alarm with a key raises its condition, in the same commit.
    const raise = typeof key === "string"
      ? { key, change: { action: "raise", alarm: prepared.fields } as const, at }
      : undefined;
    const appended = await this.#options.store.append(
      target,
      deadline?.prepared ?? prepared,
      idempotencyKey,
      deadline?.due,
      raise,
    );
    if (deadline !== undefined && !appended.duplicate) deadlines!.scheduled(deadline.due.at);
    if (appended.duplicate) {
      return { id: appended.id, seq: appended.seq, target, delivered: 0, duplicate: true };
    }
    const { alarm } = appended;
    this.#options.metrics.alarmsPublished++;
    this.#recent.raised(target, raise?.key, at);
    const delivered = await this.#fanout.published(alarm, by);
    return { id: alarm.id, seq: alarm.seq, target, delivered };
  }

  /**
   * Changes condition `key` of `target` (acknowledge, shelve, unshelve, clear, or the end of a
   * shelving): the one path for every client and every instance. The change, its log entry and
   * the condition's new state are one commit checked against the state it changes, so of two
   * racing changes one wins and the other is refused (`Conflict`, 409; `NotFound` for a key never
   * raised); then it is delivered like an alarm, to every session of the id on every instance
   * (the old page's sockets have no place for it). A shelving schedules its own end here.
   */
  async change(
    target: string,
    key: string,
    change: Exclude<ConditionChange, { action: "raise" }>,
  ): Promise<{ seq: number; condition: Condition }> {
    const { store, now } = this.#options;
    const by = performance.now() + store.timeoutMs;
    const at = now();
    const fields = {
      id: crypto.randomUUID(),
      createTime: new Date(at).toISOString(),
      transition: transitionOf(key, change, at),
    };
    const prepared = { fields, bytes: JSON.stringify(fields).length * 3 };
    const appended = await store.append(target, prepared, undefined, undefined, {
      key,
      change,
      at,
    });
    if (appended.duplicate || appended.condition === undefined) {
      throw new StoreError("The change of a condition was not stored as one");
    }
    const { alarm, condition } = appended;
    this.#options.metrics.conditionChanged(change.action);
    if (change.action === "shelve") this.#shelvingEnds.shelved(change.until);
    await this.#fanout.published(alarm, by);
    return { seq: alarm.seq, condition };
  }

  /**
   * How `target`'s alarm system is doing (ISA-18.2): alarms in the last 10 minutes (a flood past
   * 10, by the `createTime` of its latest 200 alarms), chattering, stale and shelved conditions,
   * the most frequent ones.
   */
  async performance(target: string): Promise<AlarmPerformance> {
    const { store, now } = this.#options;
    const [head, conditions] = await Promise.all([store.head(target), store.conditions(target)]);
    const recent = await store.read(target, Math.max(0, head - RATE_SAMPLE), RATE_SAMPLE);
    const raisedAt = recent.flatMap((e) => {
      const at = e.transition === undefined ? timeOf(e.createTime) : undefined;
      return at === undefined ? [] : [at];
    });
    return measurePerformance(raisedAt, conditions, now());
  }

  /** Ids that had a flood of alarms published through this isolate in the last 10 minutes. */
  get floods(): number {
    return this.#recent.floods(this.#options.now());
  }

  /** Conditions chattering from this isolate's publishes (3 raises within a minute). */
  get chattering(): number {
    return this.#recent.chattering(this.#options.now());
  }

  /** The `limit` ids this isolate published to most in the last 10 minutes, with their rates. */
  busiest(limit: number): IdRates[] {
    return this.#recent.busiest(this.#options.now(), limit);
  }

  /** Every condition of `target` ever raised (normal ones too). */
  async conditions(target: string): Promise<Condition[]> {
    const conditions = await this.#options.store.conditions(target);
    this.#endOverdue(target, conditions);
    return conditions;
  }

  /** Condition `key` of `target`, if it was ever raised. */
  async condition(target: string, key: string): Promise<Condition | undefined> {
    const condition = await this.#options.store.condition(target, key);
    if (condition) this.#endOverdue(target, [condition]);
    return condition;
  }

  // A shelving past its end that nothing ended (one made before its end was stored with it)
  // ends now: the `expire` follows like any change.
  #endOverdue(target: string, conditions: readonly Condition[]): void {
    const now = this.#options.now();
    for (const c of conditions) {
      if (c.shelved && !isShelved(c, now)) this.#shelvingEnds.overdue(target, c.key);
    }
  }

  /** The conditions of `target` in the active list (shelved ones too). */
  async activeConditions(target: string): Promise<Condition[]> {
    return (await this.conditions(target)).filter((c) => inActiveList(c.state));
  }

  /** The `id` of the entry (alarm or transition) at `seq` of `target`'s log, if one is there. */
  async entryIdAt(target: string, seq: number): Promise<string | number | undefined> {
    const [entry] = await this.#options.store.read(target, seq - 1, 1);
    return entry?.seq === seq ? entry.id : undefined;
  }

  /**
   * Records that a client of `id` acknowledged every alarm up to `seq`: the one path for a v1
   * socket's `ack` and `POST /api/acks/{id}`. An ack can't run ahead of what its sender has seen:
   * what the session `sessionId` received when it is on this isolate, else the id's last seq.
   * The record and its announcement are one commit; the id's other sessions that carry events,
   * on every isolate, are told at once (the sender is not). Throws `InvalidInput` for a seq
   * beyond that, `StoreError` when it can't be recorded.
   */
  async ack(id: string, seq: number, sessionId?: string): Promise<{ seq: number }> {
    const { store } = this.#options;
    const sender = [...this.#registry.sessionsOf(id)].find((s) => s.sessionId === sessionId);
    const seen = sender?.lastSeq ?? await store.head(id);
    if (seq > seen) {
      throw new InvalidInput(
        "invalid_ack",
        sender === undefined
          ? `Cannot acknowledge seq ${seq}: id's last seq is ${seen}`
          : `Cannot acknowledge seq ${seq}: the session has received up to ${seen}`,
      );
    }
    await this.#fanout.relay(
      id,
      { type: "ack", id, seq },
      sessionId ?? "",
      (message) => store.ack(id, seq, message),
    );
    if (sender !== undefined) sender.ackedSeq = Math.max(sender.ackedSeq, seq);
    return { seq };
  }

  /** Closes sessions silent past the heartbeat timeout or with an expired token. */
  sweep(): number {
    const now = this.#options.now();
    return sweepSessions(this.#registry, now - this.#options.limits.heartbeatTimeoutMs, now);
  }

  /** Closes every session with 1012 and waits up to `graceMs` for the handshakes; stops timers. */
  async shutdown(graceMs: number): Promise<void> {
    const ending = this.#shelvingEnds.stop(); // a look in progress finishes meanwhile
    this.#discovery.stop();
    this.#fanout.close();
    await drain(this.#registry, graceMs);
    await Promise.all([this.#presence.stop(), ending]);
  }
}
