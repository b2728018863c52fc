/**
 * Delivery of alarms and messages to this isolate's sessions, whoever published them. For each
 * id with local sessions there is a {@linkcode Target}: a cursor (the last seq delivered here)
 * and a chain that keeps catch-ups in order. An alarm published through this isolate is handed
 * over directly when it is the next one. Alarms and messages from other isolates come through
 * the change feed (`feed_follower.ts`), unless this isolate is alone on its store
 * (`cluster/discovery.ts`). A feed entry only says "read up to here": delivery always reads the log
 * from the id's cursor, in order, so nothing is skipped or sent twice.
 *
 * @module
 */
import { type Alarm, CLOSE_INTERNAL, pauseAfter, StoreError } from "../core/mod.ts";
import { bucketOf, type RelayedMessage } from "../store/mod.ts";
import { FEED_BACKOFF, FeedFollower, type FeedReader } from "./feed_follower.ts";
import { readRelayed, type RelayedEvent } from "./relayed.ts";
import type { Registry } from "./registry.ts";
import { type JoinHooks, type LogReader, PAGE, replay } from "./replay.ts";
import type { Session } from "./session.ts";

/** The store, as fan-out uses it: the log's heads and pages, and the change feed. */
export interface FanoutStore extends LogReader, FeedReader {
  /** The last seq of `target` (0 before its first alarm). */
  head(target: string): Promise<number>;
  /** The last seq of each of `targets`, in order. */
  heads(targets: readonly string[]): Promise<number[]>;
  /** Relays a message to the sessions of `target` on every instance, through the feed. */
  sendMessage(target: string, message: RelayedMessage): Promise<void>;
}

/** Moves alarms and messages from the store to local sessions. */
export class Fanout {
  readonly #store: FanoutStore;
  readonly #registry: Registry;
  readonly #instance: string;
  readonly #onError: (error: unknown, id?: string) => void;
  readonly #targets = new Map<string, Target>();
  /** What each session with events joined with: how to tell it of a hole, and resync it. */
  readonly #hooks = new WeakMap<Session, JoinHooks>();
  readonly #feed: FeedFollower;
  /** Catch-ups waiting to be tried again. */
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();
  /** Whether other isolates write the store; until known, they are assumed to. */
  #shared: boolean | undefined;

  constructor(
    store: FanoutStore,
    registry: Registry,
    instance: string,
    onError: (error: unknown, id?: string) => void,
  ) {
    this.#store = store;
    this.#registry = registry;
    this.#instance = instance;
    this.#onError = onError;
    this.#feed = new FeedFollower(store, instance, {
      onAlarm: (target, seq) => {
        const t = this.#targets.get(target);
        if (t) this.#catchUp(t, seq);
      },
      onMessage: (target, message) => this.#deliverMessage(target, message),
      onResync: (bucket) => this.#resync(bucket),
      onError: (error) => onError(error),
    });
  }

  /**
   * Brings a newly registered `session` up to date: with `since`, every stored alarm after it,
   * in order, then live ones with no gap and no duplicate, however far behind the store this
   * isolate's own position on the id is; without, live ones from now.
   * `onReady` (v1 sessions) gets the id's head once it is known, before any alarm is sent.
   */
  async join(session: Session, since: number | undefined, hooks: JoinHooks = {}): Promise<void> {
    const target = this.#target(session.id);
    if (hooks.onResync) this.#hooks.set(session, hooks);
    // Set before any await: live deliveries skip the session until it is positioned.
    const held = since !== undefined || hooks.onReady !== undefined;
    if (held) session.replaying = true;
    await target.ready;
    // This isolate's position on the id trails the store while the feed brings news from other
    // isolates: a client resuming from beyond it already has those alarms, so the store says.
    const head = since !== undefined && since > target.cursor
      ? Math.max(target.cursor, await this.#store.head(session.id))
      : target.cursor;
    const ready = hooks.onReady?.(head);
    if (ready) await ready;
    if (since !== undefined || ready) {
      // A since beyond the head (e.g. a wiped store) is treated as "from the head".
      const from = Math.min(since ?? head, head);
      await replay(
        this.#store,
        this.#registry,
        session,
        target,
        from,
        this.#told(session, hooks, head),
      );
    } else if (held) {
      session.lastSeq = target.cursor; // live from the head it was told
      session.replaying = false;
    }
  }

  /** Call when a session of `id` left; forgets the id once none is left here. */
  leave(id: string): void {
    if (this.#registry.countOf(id) === 0) this.#targets.delete(id);
  }

  /**
   * Hands an alarm this isolate just stored to local sessions (after any earlier ones this
   * isolate hasn't seen yet). Returns how many sessions got it by `by` (a `performance.now()`
   * time): reading earlier alarms from a store that hangs must not hold the publisher's answer.
   */
  async published(alarm: Alarm, by = Infinity): Promise<number> {
    const target = this.#targets.get(alarm.target);
    // The common case, the next alarm with nothing queued: hand it over now, without a hop
    // through the promise chain.
    if (target?.live && target.pending === 0 && target.cursor === alarm.seq - 1) {
      return this.#deliver(target, alarm);
    }
    if (target) await atMost(this.#catchUp(target, alarm.seq, alarm), by - performance.now());
    // Another catch-up (a concurrent publish, or the feed) may have delivered it first.
    return target?.delivered.get(alarm.seq) ?? 0;
  }

  /**
   * Relays `event` to the sessions of `to` (all but the session `except`) on every isolate:
   * through the feed, and to this isolate's sessions at once. `write` stores it (a plain `send`
   * by default; an acknowledgement stores its record in the same commit).
   */
  async relay(
    to: string,
    event: RelayedEvent,
    except: string,
    write = (message: RelayedMessage) => this.#store.sendMessage(to, message),
  ): Promise<void> {
    await write({ event, except, origin: this.#instance });
    this.#registry.deliverEvent(to, event, except);
  }

  /** Whether other isolates' alarms are followed through the feed. */
  get following(): boolean {
    return this.#feed.running;
  }

  /** Nobody else writes the store: stops following the feed (everything comes from here). */
  stopFollowing(): void {
    this.#shared = false;
    this.#feed.stop();
  }

  /**
   * Others write the store too: follows the feed from now on. Starting re-reads the head of
   * every id served here, so whatever others published meanwhile is delivered then, in order.
   */
  follow(): void {
    this.#shared = true;
    if (!this.#feed.running) this.#feed.start();
    // Already following, perhaps from before the newcomer's arrival: read every head again.
    else this.#resync(undefined).catch((error) => this.#onError(error));
  }

  /** Stops following the feed and forgets every id. */
  close(): void {
    this.#feed.stop();
    this.#targets.clear();
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
  }

  #target(id: string): Target {
    let target = this.#targets.get(id);
    if (target) return target;
    // The feed is followed from the first id served, unless this isolate is known to be alone.
    if (this.#shared !== false) this.#feed.start();
    const t = newTarget(id);
    t.ready = (async () => {
      t.cursor = await this.#store.head(id);
      t.live = true;
    })();
    // Catch-ups wait for the cursor: one starting from 0 would deliver the whole log.
    t.chain = t.ready.catch(() => this.#targets.get(id) === t && this.#targets.delete(id));
    this.#targets.set(id, target = t);
    return target;
  }

  // Re-reads the heads of the ids served here (those in `bucket`, if given) and catches up.
  async #resync(bucket: number | undefined): Promise<void> {
    const targets = [...this.#targets.values()].filter((t) =>
      t.live && (bucket === undefined || bucketOf(t.id) === bucket)
    );
    const heads = await this.#store.heads(targets.map((t) => t.id));
    targets.forEach((t, i) => this.#catchUp(t, heads[i]!));
  }

  // Delivers up to `upTo`; on failure reports it and tries again later, so an alarm never waits
  // for the next one on its id.
  async #catchUp(t: Target, upTo: number, known?: Alarm, failures = 0): Promise<void> {
    try {
      await this.#advance(t, upTo, known);
    } catch (error) {
      this.#onError(error, t.id);
      const timer = setTimeout(() => {
        this.#retries.delete(timer);
        if (this.#targets.get(t.id) === t && t.cursor < upTo) {
          void this.#catchUp(t, upTo, undefined, failures + 1);
        }
      }, pauseAfter(FEED_BACKOFF, failures + 1));
      this.#retries.add(timer);
    }
  }

  #deliverMessage(to: string, message: RelayedMessage): void {
    const event = readRelayed(message);
    if (event !== undefined) this.#registry.deliverEvent(to, event, message.except);
  }

  // Delivers every alarm after the cursor up to `upTo`, in order, once per isolate. A page that
  // moves nothing while still behind fails the catch-up, which is reported and retried after a
  // pause (`#catchUp`): never a tight loop over a store that answers wrongly.
  #advance(t: Target, upTo: number, known?: Alarm): Promise<unknown> {
    const run = t.chain.then(async () => {
      while (t.cursor < upTo && this.#targets.get(t.id) === t) {
        const from = t.cursor;
        const page = known?.seq === from + 1
          ? [known]
          : await this.#store.read(t.id, from, Math.min(PAGE, upTo - from));
        const firstAvailable = page[0]?.seq ?? upTo + 1;
        if (firstAvailable > from + 1) this.#missed(t, firstAvailable);
        if (page.length === 0 || page[0]!.seq > upTo) {
          // Trimmed by retention before we read it: gone up to the first alarm retained, so the
          // catch-ups to come don't find the same hole again, one seq further each.
          t.cursor = firstAvailable - 1;
          break;
        }
        for (const alarm of page) {
          if (alarm.seq > upTo) break;
          if (alarm.seq > t.cursor) this.#deliver(t, alarm);
        }
        if (t.cursor === from) {
          throw new StoreError(
            `Reading ${JSON.stringify(t.id)} after seq ${from} gave nothing up to ${upTo}`,
          );
        }
      }
    });
    return enqueue(t, run);
  }

  // Alarms before `firstAvailable` left the log before this isolate read them (it fell behind
  // other isolates' publishes by more than retention). Sessions of the id that had not got them
  // and can be told (v1, SSE) are resynced rather than jumped ahead silently: from now they read
  // the log themselves (`replaying`), get the id's conditions afresh, then what is retained after
  // what they had, with a `gap` for the hole, and go live again. The old page's sockets get what
  // exists, as on any resume.
  #missed(t: Target, firstAvailable: number): void {
    for (const session of this.#registry.sessionsOf(t.id)) {
      const hooks = this.#hooks.get(session);
      if (!hooks || session.replaying || session.lastSeq >= firstAvailable - 1) continue;
      session.replaying = true; // before this page is delivered: the session reads it itself
      this.#resyncSession(session, t, hooks).catch((error) => {
        this.#onError(error, t.id);
        this.#registry.close(session, CLOSE_INTERNAL, "store unavailable");
      });
    }
  }

  // Once this catch-up is done (its cursor past the hole), the session reads from what it had.
  // The hole is there still (nothing trimmed comes back), so its first gap sends the conditions.
  async #resyncSession(session: Session, t: Target, hooks: JoinHooks): Promise<void> {
    const from = session.lastSeq;
    await t.chain;
    await replay(this.#store, this.#registry, session, t, from, this.#told(session, hooks, -1));
  }

  // Tells `session` of each hole in what it is sent, once: first, if the hole reaches past the
  // conditions it was last sent (as of `asOf`), the conditions afresh, since changes in the hole
  // are gone with it; then the `gap`.
  #told(session: Session, hooks: JoinHooks, asOf: number) {
    return async (since: number, firstAvailable: number): Promise<void> => {
      if (hooks.onResync && firstAvailable - 1 > asOf) {
        const target = this.#targets.get(session.id);
        asOf = Math.max(target?.cursor ?? 0, await this.#store.head(session.id));
        await hooks.onResync(asOf);
      }
      hooks.onGap?.(since, firstAvailable);
    };
  }

  // Sends the alarm after the cursor to the id's sessions; returns how many got it.
  #deliver(t: Target, alarm: Alarm): number {
    const sessions = this.#registry.deliverAlarm(alarm);
    delivered(t, alarm.seq, sessions);
    return sessions;
  }
}

/** Recent seqs whose delivery counts are remembered per id. */
const RECENT = 256;

/** Delivery state of one id on this isolate. */
interface Target {
  id: string;
  /** Last alarm seq delivered to this isolate's sessions of the id. */
  cursor: number;
  /** Resolves once the cursor is initialized. */
  ready: Promise<void>;
  /** Serializes catch-ups, so alarms go out in seq order. */
  chain: Promise<unknown>;
  /** The cursor is initialized. */
  live: boolean;
  /** Catch-ups queued on `chain` and not finished. */
  pending: number;
  /** Sessions each recent seq was handed to, for the publisher's `delivered`. */
  delivered: Map<number, number>;
}

/** A target for `id` whose cursors are not known yet. */
function newTarget(id: string): Target {
  return {
    id,
    cursor: 0,
    ready: Promise.resolve(),
    chain: Promise.resolve(),
    live: false,
    pending: 0,
    delivered: new Map(),
  };
}

/** Waits for `work` (which never rejects) for at most `ms`. */
async function atMost(work: Promise<void>, ms: number): Promise<void> {
  if (ms === Infinity) return await work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

/** Makes `run` the tail of the target's chain, counted in `pending` until it settles. */
function enqueue(t: Target, run: Promise<unknown>): Promise<unknown> {
  t.pending++;
  t.chain = run.catch(() => {}).finally(() => t.pending--);
  return run;
}

/** Moves the cursor to `seq`, which reached `sessions` sessions. */
function delivered(t: Target, seq: number, sessions: number): void {
  t.cursor = seq;
  t.delivered.set(seq, sessions);
  // Oldest first (Map keeps insertion order).
  if (t.delivered.size > RECENT) t.delivered.delete(t.delivered.keys().next().value!);
}
