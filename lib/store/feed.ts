/**
 * The change feed: how every instance learns what others wrote, with a fixed number of watch
 * streams whatever the number of ids. Each commit that stores alarms appends, per id it touched,
 * an entry `{target, seq}` to that id's bucket (`schema.ts`: `["feed", b, n]`, numbered without
 * gaps under a checked head); a relayed message is an entry of its own carrying its event.
 * Readers watch the bucket heads and read the entries after their own cursor. Entries expire:
 * a reader that falls further behind learns it from the gap and re-reads the heads of its ids.
 *
 * @module
 */
import { StoreError } from "../core/mod.ts";
import type { KvLike } from "./call_timeout.ts";
import { guard } from "./guard.ts";
import { bucketOf, FEED_HEAD_KEYS, feedHeadKey, feedKey } from "./schema.ts";

/** How long feed entries are kept: a reader further behind re-reads heads instead. */
export const FEED_TTL_MS = 10 * 60_000;

/** What a feed entry says: `target` has alarms up to `seq`, or a message for its sessions. */
export type FeedEntry =
  | { n: number; target: string; seq: number }
  | { n: number; target: string; message: RelayedMessage };

/**
 * An event for the sessions of an id on every instance (a `send`, an acknowledgement): the event
 * as a plain object (its reader checks it), the session that must not get it, the writing
 * instance.
 */
export interface RelayedMessage {
  event: unknown;
  except: string;
  origin: string;
}

const MAX_ATTEMPTS = 100;
/** Entries read per list call. */
const FEED_PAGE = 500;

/** The head of every bucket, in bucket order (0 before a bucket's first entry). */
export async function feedHeads(kv: KvLike): Promise<number[]> {
  const entries = await guard(() => kv.getMany<number[]>(FEED_HEAD_KEYS));
  return entries.map((entry) => entry.value ?? 0);
}

/**
 * Entries of `bucket` numbered after `after`, in order, at most a page of them; a missing number
 * (expired) shows as a jump in `n`.
 */
export async function readFeed(
  kv: KvLike,
  bucket: number,
  after: number,
): Promise<FeedEntry[]> {
  return await guard(() =>
    Array.fromAsync(
      kv.list<Omit<FeedEntry, "n">>(
        { start: feedKey(bucket, after + 1), end: feedKey(bucket, Infinity) },
        { limit: FEED_PAGE },
      ),
      ({ key, value }) => ({ ...value, n: Number(key[2]) }) as FeedEntry,
    )
  );
}

/**
 * Appends a message for the sessions of `target` to the feed, in one commit with whatever `alongside`
 * adds to it (the record the message announces).
 */
export async function appendMessage(
  kv: KvLike,
  target: string,
  message: RelayedMessage,
  alongside: (op: Deno.AtomicOperation) => void = () => {},
): Promise<void> {
  const bucket = bucketOf(target);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const head = await guard(() => kv.get<number>(feedHeadKey(bucket)));
    const n = (head.value ?? 0) + 1;
    const result = await guard(() => {
      const op = kv.atomic().check(head).set(feedHeadKey(bucket), n)
        .set(feedKey(bucket, n), { target, message }, { expireIn: FEED_TTL_MS });
      alongside(op);
      return op.commit();
    });
    if (result.ok) return;
  }
  throw new StoreError(`Too much contention sending to ${JSON.stringify(target)}`);
}
