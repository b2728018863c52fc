/**
 * The session registry and fan-out. Sessions are keyed by id; each id holds a set of sessions
 * (tabs). Removal is by identity, so a late or repeated close event of an old socket can never
 * remove a newer session of the same id.
 *
 * @module
 */
import {
  addressBucket,
  type Alarm,
  CLOSE_INTERNAL,
  CLOSE_SLOW_CONSUMER,
  entryFrames,
} from "../core/mod.ts";
import type { Metrics } from "../observe/mod.ts";
import type { SessionEvent } from "./codec.ts";
import type { Session } from "./session.ts";
import { OPEN } from "./socket.ts";

/** Most frame characters sent to a session between two looks at its `bufferedAmount`. */
export const MAX_CHECK_INTERVAL = 16 * 1024;

/**
 * The place one connection takes against the session caps, from admission until the connection
 * is really gone (not merely closed by the server: a peer that never answers keeps it). Released
 * exactly once.
 */
export interface Slot {
  readonly id: string;
  readonly address: string;
  /** Gives the place up. Idempotent. */
  release(): void;
}

/** Holds the open sessions of this isolate and sends frames to them. */
export class Registry {
  readonly #byId = new Map<string, Set<Session>>();
  /** Places taken, in all, per id and per client address (see {@linkcode Slot}). */
  readonly #placesById = new Map<string, number>();
  readonly #placesByAddress = new Map<string, number>();
  #places = 0;
  /** Sessions closed by the server whose peer hasn't let go yet. */
  readonly #closing = new Set<Session>();
  readonly #metrics: Metrics;
  readonly #slowConsumerBytes: number;
  /**
   * Bytes a queue may hold beyond the slow-consumer threshold: the snapshots sent into it whole
   * ({@linkcode sendWhole}), until it is back under the threshold.
   */
  readonly #allowances = new WeakMap<object, number>();
  readonly #checkInterval: number;
  #size = 0;

  constructor(metrics: Metrics, slowConsumerBytes: number) {
    this.#metrics = metrics;
    this.#slowConsumerBytes = slowConsumerBytes;
    // Reading `bufferedAmount` is a call into Deno (what it costs: docs/performance.md); looking
    // once per interval keeps a stuck client's queue within the threshold plus one interval (at
    // most 3 bytes per character) plus one frame.
    this.#checkInterval = Math.min(MAX_CHECK_INTERVAL, Math.floor(slowConsumerBytes / 16));
  }

  /** Open sessions. */
  get size(): number {
    return this.#size;
  }

  /**
   * Places taken: connections admitted and not yet gone, whether opening, open, or closed by
   * the server and waiting for the peer. What the session caps count.
   */
  get occupied(): number {
    return this.#places;
  }

  /** Places taken by `id`. */
  occupiedBy(id: string): number {
    return this.#placesById.get(id) ?? 0;
  }

  /** Places taken from client `address` (from its /64, for an IPv6 one: see `addressBucket`). */
  occupiedFrom(address: string): number {
    return this.#placesByAddress.get(addressBucket(address)) ?? 0;
  }

  /** Sessions the server closed whose peer has not let go yet. */
  get closing(): number {
    return this.#closing.size;
  }

  /** Takes a place for a connection to `id` from `address`, until it is released. */
  hold(id: string, address: string): Slot {
    this.#take(id, address, 1);
    let held = true;
    return {
      id,
      address,
      release: () => {
        if (!held) return;
        held = false;
        this.#take(id, address, -1);
      },
    };
  }

  #take(id: string, address: string, delta: number): void {
    this.#places += delta;
    bump(this.#placesById, id, delta);
    bump(this.#placesByAddress, addressBucket(address), delta);
  }

  /** Ids with at least one session. */
  get idCount(): number {
    return this.#byId.size;
  }

  /** Adds `session`. */
  add(session: Session): void {
    let set = this.#byId.get(session.id);
    if (!set) this.#byId.set(session.id, set = new Set());
    if (set.has(session)) return;
    set.add(session);
    this.#size++;
  }

  /** Removes exactly `session`; returns whether it was present. Safe to call any number of times. */
  remove(session: Session): boolean {
    const set = this.#byId.get(session.id);
    if (!set?.delete(session)) return false;
    if (set.size === 0) this.#byId.delete(session.id);
    this.#size--;
    return true;
  }

  /** Whether `session` is registered. */
  has(session: Session): boolean {
    return this.#byId.get(session.id)?.has(session) ?? false;
  }

  /** The sessions of `id` (empty when none). */
  sessionsOf(id: string): ReadonlySet<Session> {
    return this.#byId.get(id) ?? EMPTY;
  }

  /** Sessions of `id` (0 when none). */
  countOf(id: string): number {
    return this.#byId.get(id)?.size ?? 0;
  }

  /** Every id with at least one session. */
  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /** Every session. */
  *all(): IterableIterator<Session> {
    for (const set of this.#byId.values()) yield* set;
  }

  /**
   * Hands log entry `alarm` to every live session of its target that hasn't had it, each in its
   * own wire format (one may have no place for it: a transition, for the old page); the entry is
   * serialized once. Sessions that are replaying stored alarms are
   * skipped; they read this one from the log. Returns how many sessions it was handed to.
   */
  deliverAlarm(alarm: Alarm): number {
    const set = this.#byId.get(alarm.target);
    if (!set) return 0;
    const frames = entryFrames(alarm);
    let delivered = 0;
    for (const session of set) {
      if (session.replaying || session.lastSeq >= alarm.seq) continue;
      session.lastSeq = alarm.seq;
      const frame = session.codec.entry(frames);
      if (frame !== undefined && this.send(session, frame)) delivered++;
    }
    return delivered;
  }

  /** Sends one stored alarm to one session (replay), unless it already had it. */
  sendAlarm(session: Session, alarm: Alarm): void {
    if (session.lastSeq >= alarm.seq) return;
    session.lastSeq = alarm.seq;
    const frame = session.codec.entry(entryFrames(alarm));
    if (frame !== undefined) this.send(session, frame);
  }

  /**
   * Sends `event` to every session of `id` whose wire format carries it, but the one with id
   * `except`. Returns how many sessions got it.
   */
  deliverEvent(id: string, event: SessionEvent, except?: string): number {
    const set = this.#byId.get(id);
    if (!set) return 0;
    let delivered = 0;
    for (const session of set) {
      if (session.sessionId === except) continue;
      const frame = session.codec.event(event);
      if (frame !== undefined && this.send(session, frame)) delivered++;
    }
    return delivered;
  }

  /** Sends `event` to `session` if its wire format carries it. */
  sendEvent(session: Session, event: SessionEvent): void {
    const frame = session.codec.event(event);
    if (frame !== undefined) this.send(session, frame);
  }

  /**
   * Sends `event`, one frame as large as what it lists (the conditions snapshot), letting the
   * session's queue hold it beyond the slow-consumer threshold until it drains: a client reading
   * as fast as it can is not a slow consumer for being sent a large list at once.
   */
  sendWhole(session: Session, event: SessionEvent): void {
    const frame = session.codec.event(event);
    if (frame === undefined) return;
    // Added up per queue: the ids of one event stream send their snapshots into the same one.
    const queue = session.socket.queue ?? session.socket;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#allowances.set(queue, (this.#allowances.get(queue) ?? 0) + frame.length * 3);
    this.send(session, frame);
  }

  /**
   * Sends one frame to `session`. A socket that is no longer open is skipped and counted; one
   * whose queue passes the slow-consumer threshold is closed, so a client that doesn't read
   * can hold at most the threshold plus 1/16 of it (3/16 for non-ASCII) plus one frame (plus a
   * snapshot sent whole, see {@linkcode sendWhole}).
   */
  send(session: Session, frame: string): boolean {
    const socket = session.socket;
    if (socket.readyState !== OPEN) {
      this.#metrics.sendsDropped++;
      return false;
    }
    try {
      socket.send(frame);
    } catch {
      this.#metrics.sendsDropped++;
      this.close(session, CLOSE_INTERNAL, "send failed");
      return false;
    }
    this.#metrics.framesOut++;
    session.unchecked += frame.length;
    if (session.unchecked < this.#checkInterval) return true;
    session.unchecked = 0;
    const buffered = socket.bufferedAmount;
    const queue = socket.queue ?? socket;
    if (buffered <= this.#slowConsumerBytes) this.#allowances.delete(queue);
    else if (buffered > this.#slowConsumerBytes + (this.#allowances.get(queue) ?? 0)) {
      this.#metrics.slowConsumerCloses++;
      this.close(session, CLOSE_SLOW_CONSUMER, "slow consumer");
    }
    return true;
  }

  /**
   * Removes `session` and closes its socket with `code` and `reason`; it counts as closing (and
   * keeps its place) until {@linkcode gone} says the connection ended. Never throws.
   */
  close(session: Session, code: number, reason: string): void {
    if (this.remove(session)) this.#closing.add(session);
    session.closedWith ??= { code, reason };
    try {
      session.socket.close(code, reason);
    } catch {
      // Already closing or closed: nothing left to do.
    }
  }

  /** The connection of `session` ended: it is no longer closing. */
  gone(session: Session): void {
    this.#closing.delete(session);
  }

  /** Closes every session with `code` and `reason`. */
  closeAll(code: number, reason: string): void {
    for (const session of [...this.all()]) this.close(session, code, reason);
  }
}

const EMPTY: ReadonlySet<Session> = new Set();

function bump(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
