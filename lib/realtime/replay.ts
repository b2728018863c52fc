/**
 * Replay for a session that connected with `since`: the stored alarms after it, in order, up
 * to this isolate's live cursor of its id, then the switch to live delivery in the same tick.
 *
 * @module
 */
import { type Alarm, StoreError } from "../core/mod.ts";
import type { Registry } from "./registry.ts";
import type { Session } from "./session.ts";

/** The alarm log, as delivery reads it. */
export interface LogReader {
  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]>;
}

/** Callbacks of `Fanout.join`, for formats with events (v1, SSE). */
export interface JoinHooks {
  /**
   * The id's head, once known; nothing has been sent yet. What it returns is waited for (the
   * conditions' snapshot) while live deliveries still skip the session; what was published
   * meanwhile is then read from the log.
   */
  onReady?: (head: number) => void | Promise<void>;
  /**
   * The session missed alarms that left the log while it was live (this isolate fell behind):
   * sends the id's conditions afresh, as of `head` or later, before the log is read again.
   */
  onResync?: (head: number) => Promise<void>;
  /** Alarms after `since` are no longer retained: the first seq available. */
  onGap?: (since: number, firstAvailable: number) => void;
}

/** Alarms read from the log per page during catch-up and replay. */
export const PAGE = 200;

/**
 * Sends `session` every stored alarm of its id after `from` (at most the id's head in the store)
 * up to `live.cursor` (which keeps moving while this runs), then clears `session.replaying`.
 * While replaying, live deliveries skip the session; it reads them from the log instead, so
 * nothing is lost or doubled. A `from` beyond `live.cursor` (this isolate has not yet heard of
 * alarms the client has) needs no reading: deliveries up to it skip the session. Where alarms
 * are no longer retained (`from` older than the oldest, or trimmed while it reads), `onGap` is
 * told the hole before what follows it.
 */
export async function replay(
  store: LogReader,
  registry: Registry,
  session: Session,
  live: { readonly cursor: number },
  from: number,
  onGap?: (since: number, firstAvailable: number) => void | Promise<void>,
): Promise<void> {
  // Live deliveries at or below `from`, which the client has, skip the session from now on.
  session.lastSeq = from;
  while (session.lastSeq < live.cursor) {
    if (!registry.has(session)) return;
    const upTo = live.cursor;
    const page = await store.read(
      session.id,
      session.lastSeq,
      Math.min(PAGE, upTo - session.lastSeq),
    );
    const first = page[0];
    const before = session.lastSeq;
    if (!first || first.seq > before + 1) {
      // Nothing between them is retained (a read returns the first entries after `before`):
      // told once, the hole is behind the session, so a later one starts where this one ended.
      const firstAvailable = first?.seq ?? upTo + 1;
      await onGap?.(before, firstAvailable);
      if (!registry.has(session)) return;
      session.lastSeq = firstAvailable - 1;
    }
    for (const alarm of page) {
      if (alarm.seq > upTo) break;
      registry.sendAlarm(session, alarm);
    }
    // Nothing moved while still behind: the store answers wrongly; fail rather than spin.
    if (session.lastSeq === before && before < live.cursor) {
      throw new StoreError(`Replay of ${JSON.stringify(session.id)} stalled after seq ${before}`);
    }
  }
  // No await between the last check and here: the next live alarm is newer than lastSeq.
  session.replaying = false;
}
