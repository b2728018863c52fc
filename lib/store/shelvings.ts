/**
 * The ends of shelvings in KV: one entry per shelving at `["shelf", until, t, key]`, written in
 * the commit that shelves (`appender.ts`), so a shelving ends by itself whichever instance runs
 * when it is due, and whether or not the one that shelved it still does.
 *
 * @module
 */
import type { KvLike } from "./call_timeout.ts";
import { guard } from "./guard.ts";
import { shelfAfter, shelfKey, shelfRange } from "./schema.ts";

/** A shelving's end as read: which condition, when, and its revision (opaque, checked). */
export interface ShelvingEnd {
  target: string;
  key: string;
  until: number;
  revision: string;
}

/** Adds to `op` the end of a shelving of condition `key` of `target` at `until`. */
export function writeShelvingEnd(
  op: Deno.AtomicOperation,
  target: string,
  key: string,
  until: number,
): void {
  op.set(shelfKey(until, target, key), true);
}

/** Up to `limit` shelvings ending at or before `now`, earliest first. */
export async function shelvingsDue(kv: KvLike, now: number, limit: number): Promise<ShelvingEnd[]> {
  const entries = await guard(() => Array.fromAsync(kv.list(shelfRange(now), { limit })));
  return entries.map(({ key, versionstamp }) => ({
    // Written by writeShelvingEnd: ours, not untrusted input.
    until: Number(key[1]),
    target: String(key[2]),
    key: String(key[3]),
    revision: versionstamp,
  }));
}

/** When the earliest shelving ending after `now` ends, if any. */
export async function nextShelvingEnd(kv: KvLike, now: number): Promise<number | undefined> {
  const [entry] = await guard(() => Array.fromAsync(kv.list(shelfAfter(now), { limit: 1 })));
  return entry === undefined ? undefined : Number(entry.key[1]);
}

/** Deletes `end` unless someone changed it first; whether it did. */
export async function removeShelvingEnd(kv: KvLike, end: ShelvingEnd): Promise<boolean> {
  const key = shelfKey(end.until, end.target, end.key);
  const result = await guard(() =>
    kv.atomic().check({ key, versionstamp: end.revision }).delete(key).commit()
  );
  return result.ok;
}
