/**
 * Delivery of alarms and messages to this isolate's sessions, whoever published them. For each
 * id with local sessions there is a {@linkcode Target}: a cursor (the last seq delivered here)
 * and, unless this isolate is alone on its store (`cluster/company.ts`), a watch on the id's
 * heads. KV watch coalesces, so a
 * change only says "read from your cursor": delivery always reads the log from the cursor, in
 * order, and never trusts the watched value alone. An alarm published through this isolate is
 * handed over directly when it is the next one.
 *
 * @module
 */
import type { Alarm } from "../core/mod.ts";
import type { AlarmStore, Heads, StoredMessage } from "../store/mod.ts";
import type { Registry } from "./registry.ts";
import { type JoinHooks, PAGE, replay } from "./replay.ts";
import type { Session } from "./session.ts";

/** Pause before a failed watch is started again. */
const WATCH_RETRY_MS = 1000;
/** Moves alarms and messages from the store to local sessions. */
export class Fanout {
  readonly #store: AlarmStore;
  readonly #registry: Registry;
  readonly #onError: (error: unknown, id: string) => void;
  readonly #targets = new Map<string, Target>();
  /** No other isolate writes the store: ids are not watched (see `company.ts`). */
  #solo = false;

  constructor(
    store: AlarmStore,
    registry: Registry,
    onError: (error: unknown, id: string) => void,
  ) {
    this.#store = store;
    this.#registry = registry;
    this.#onError = onError;
  }

  /**
   * Brings a newly registered `session` up to date: with `since`, every stored alarm after it,
   * in order, then live ones with no gap and no duplicate; without, live ones from now.
   * `onReady` (v1 sessions) gets the id's head once it is known, before any alarm is sent.
   */
  async join(session: Session, since: number | undefined, hooks: JoinHooks = {}): Promise<void> {
    const target = this.#target(session.id);
    // Set before any await: live deliveries skip the session until it is positioned.
    const held = since !== undefined || hooks.onReady !== undefined;
    if (held) session.replaying = true;
    await target.ready;
    hooks.onReady?.(target.cursor);
    if (since !== undefined) {
      await replay(this.#store, this.#registry, session, target, since, hooks.onGap);
    } else if (held) {
      session.lastSeq = target.cursor; // live from the head it was told
      session.replaying = false;
    }
  }

  /** Call when a session of `id` left; stops watching the id once none is left here. */
  leave(id: string): void {
    if (this.#registry.sessionsOf(id).size > 0) return;
    const target = this.#targets.get(id);
    if (target) unwatch(target);
    this.#targets.delete(id);
  }

  /**
   * Hands an alarm this isolate just stored to local sessions (after any earlier ones this
   * isolate hasn't seen yet). Returns how many sessions got it.
   */
  async published(alarm: Alarm): Promise<number> {
    const target = this.#targets.get(alarm.target);
    // The common case, the next alarm with nothing queued: hand it over now, without a hop
    // through the promise chain.
    if (target?.live && target.pending === 0 && target.cursor === alarm.seq - 1) {
      return this.#deliver(target, alarm);
    }
    if (target) await this.#advance(target, alarm.seq, alarm);
    // Another catch-up (a concurrent publish, or the watch) may have delivered it first.
    return target?.delivered.get(alarm.seq) ?? 0;
  }

  /**
   * Stores a `message` frame for the sessions of `to` (all but `except`) on every isolate, and
   * hands it to this isolate's at once.
   */
  async relay(to: string, frame: string, except: string): Promise<void> {
    const message = await this.#store.sendMessage(to, frame, except);
    const t = this.#targets.get(to);
    if (t) await this.#advanceMessages(t, message.seq, message);
  }

  /** Ids watched in KV for alarms published elsewhere. */
  get watched(): number {
    return [...this.#targets.values()].filter((target) => target.watch).length;
  }

  /** Nobody else writes the store: stops watching (everything published here is handed over). */
  solo(): void {
    this.#solo = true;
    for (const target of this.#targets.values()) unwatch(target);
  }

  /**
   * Others write the store too: watches every id from now on. A watch starts by reading the
   * head, so whatever others published to a served id meanwhile is delivered then, in order.
   */
  watchAll(): void {
    this.#solo = false;
    for (const target of this.#targets.values()) {
      if (target.live && !target.watch) this.#watch(target);
    }
  }

  /** Stops every watch. */
  close(): void {
    for (const target of this.#targets.values()) unwatch(target);
    this.#targets.clear();
  }

  #target(id: string): Target {
    let target = this.#targets.get(id);
    if (target) return target;
    const t = newTarget(id);
    t.ready = (async () => {
      [t.cursor, t.messageCursor] = await Promise.all([
        this.#store.head(id),
        this.#store.messageHead(id),
      ]);
      t.live = true;
      this.#watch(t);
    })();
    // Catch-ups wait for the cursors: one starting from 0 would deliver the whole log.
    t.chain = t.ready.catch(() => this.#targets.get(id) === t && this.#targets.delete(id));
    this.#targets.set(id, target = t);
    return target;
  }

  #watch(t: Target): void {
    if (this.#solo || this.#targets.get(t.id) !== t) return;
    watchHeads(this.#store, t, ({ alarms, messages }) => {
      if (alarms !== undefined) this.#advance(t, alarms).catch((e) => this.#onError(e, t.id));
      if (messages !== undefined) {
        this.#advanceMessages(t, messages).catch((e) => this.#onError(e, t.id));
      }
    }, (error) => {
      this.#onError(error, t.id);
      setTimeout(() => this.#watch(t), WATCH_RETRY_MS);
    });
  }

  // Delivers every alarm after the cursor up to `upTo`, in order, once per isolate.
  #advance(t: Target, upTo: number, known?: Alarm): Promise<unknown> {
    const run = t.chain.then(async () => {
      while (t.cursor < upTo && this.#targets.get(t.id) === t) {
        const page = known?.seq === t.cursor + 1
          ? [known]
          : await this.#store.read(t.id, t.cursor, Math.min(PAGE, upTo - t.cursor));
        if (page.length === 0) {
          t.cursor = upTo; // trimmed by retention before we read it: nothing left to deliver
          break;
        }
        for (const alarm of page) {
          if (alarm.seq > upTo) break;
          this.#deliver(t, alarm);
        }
      }
    });
    return enqueue(t, run);
  }

  // Sends the alarm after the cursor to the id's sessions; returns how many got it.
  #deliver(t: Target, alarm: Alarm): number {
    const sessions = this.#registry.deliverAlarm(alarm);
    delivered(t, alarm.seq, sessions);
    return sessions;
  }

  #advanceMessages(t: Target, upTo: number, known?: StoredMessage): Promise<unknown> {
    const run = t.chain.then(async () => {
      if (t.messageCursor >= upTo) return;
      const messages = known?.seq === t.messageCursor + 1
        ? [known]
        : await this.#store.readMessages(t.id, t.messageCursor, upTo);
      for (const m of messages) this.#registry.deliverV1(t.id, m.frame, m.except);
      t.messageCursor = upTo;
    });
    return enqueue(t, run);
  }
}

/** Recent seqs whose delivery counts are remembered per id. */
const RECENT = 256;

/** Delivery state of one id on this isolate. */
interface Target {
  id: string;
  /** Last alarm seq delivered to this isolate's sessions of the id. */
  cursor: number;
  /** Last message seq delivered. */
  messageCursor: number;
  /** Resolves once the cursors are initialized. */
  ready: Promise<void>;
  /** Serializes catch-ups, so alarms go out in seq order. */
  chain: Promise<unknown>;
  /** The watch of the id's heads, while watched. */
  watch: ReadableStreamDefaultReader<Heads> | undefined;
  /** The cursors are initialized. */
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
    messageCursor: 0,
    ready: Promise.resolve(),
    chain: Promise.resolve(),
    watch: undefined,
    live: false,
    pending: 0,
    delivered: new Map(),
  };
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

/** Stops watching the target's keys, if it was. */
function unwatch(t: Target): void {
  t.watch?.cancel().catch(() => {});
  t.watch = undefined;
}

/**
 * Watches the target's heads in `store`, telling `onHeads` each new value, and `onError` once if
 * the watch fails.
 */
function watchHeads(
  store: AlarmStore,
  t: Target,
  onHeads: (heads: Heads) => void,
  onError: (error: unknown) => void,
): void {
  const reader = store.watchHeads(t.id).getReader();
  t.watch = reader;
  (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onHeads(value);
    }
  })().catch(onError);
}
