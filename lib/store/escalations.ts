/**
 * Escalation state in KV: policies (with a version counter every instance watches), and the due
 * records the scheduler of every instance scans. A due record is a `deadline` (escalate at `at`
 * unless the alarm is acknowledged by then) or a `fire` (an escalation claimed by an instance,
 * leased until `at`, or waiting for its next webhook attempt). Every change of a due record is an
 * atomic operation checking its versionstamp, so of any number of instances exactly one moves
 * it on; a claim also checks what decides whether the alarm is acknowledged (the target's acks,
 * or for an alarm with a key its condition's record), so an ack that lands first wins.
 *
 * @module
 */
import type { DueSpec } from "./alarm_log.ts";
import { type Alarm, type Condition, isShelved, type Policy, StoreError } from "../core/mod.ts";
import type { KvLike } from "./call_timeout.ts";
import { decodeCondition } from "./conditions.ts";
import { guard } from "./guard.ts";
import {
  ackKey,
  condKey,
  dueAfter,
  dueKey,
  dueRange,
  POLICY_PREFIX,
  POLICY_VERSION_KEY,
  policyKey,
} from "./schema.ts";

/** One due record's value. */
export interface DueRecord {
  target: string;
  seq: number;
  policy: string;
  /** 1 for the first escalation, 2 for the first repeat, and so on. */
  step: number;
  /** When this step's deadline is (epoch ms), whatever `at` the record is due at now. */
  deadline: number;
  kind: "deadline" | "fire";
  /** Webhook attempts made so far (fire only). */
  attempt: number;
  /** Whether the escalation alarms are published already (fire only). */
  published: boolean;
  /** The condition the alarm raised, if it had a key: its state decides, not the id's acks. */
  key?: string;
}

/**
 * A due record as read, with when it is due and its revision: opaque to callers, checked by any
 * change, so of two changes to one revision only the first lands.
 */
export interface DueEntry {
  at: number;
  record: DueRecord;
  revision: string;
}

/** The outcome of claiming a deadline. */
export type Claim =
  | { outcome: "claimed"; fire: DueEntry }
  | { outcome: "acknowledged" }
  /** The condition is shelved: the deadline moved to `until`, to be looked at again then. */
  | { outcome: "postponed"; until: number }
  | { outcome: "lost" };

const MAX_ATTEMPTS = 20;

/** Adds the first deadline of `alarm` (raising condition `key`, if given) under `spec` to `op`. */
export function writeDeadline(
  op: Deno.AtomicOperation,
  alarm: Alarm,
  spec: DueSpec,
  key?: string,
): void {
  const record = deadlineRecord(alarm.target, alarm.seq, spec.policy, 1, spec.at, key);
  op.set(keyOf(spec.at, record), record);
}

/** A deadline record for step `step`. */
export function deadlineRecord(
  target: string,
  seq: number,
  policy: string,
  step: number,
  deadline: number,
  key?: string,
): DueRecord {
  const record: DueRecord = {
    target,
    seq,
    policy,
    step,
    deadline,
    kind: "deadline",
    attempt: 0,
    published: false,
  };
  if (key !== undefined) record.key = key;
  return record;
}

function keyOf(at: number, r: DueRecord): Deno.KvKey {
  return dueKey(at, r.target, r.seq, r.policy, r.step, r.kind);
}

/** Stores `policy`, bumping the version every instance watches. */
export async function putPolicy(kv: KvLike, policy: Policy): Promise<void> {
  await guard(() =>
    kv.atomic().set(policyKey(policy.name), policy).sum(POLICY_VERSION_KEY, 1n).commit()
  );
}

/** Deletes policy `name`; whether it existed. */
export async function deletePolicy(kv: KvLike, name: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await guard(() => kv.get(policyKey(name)));
    if (entry.versionstamp === null) return false;
    const result = await guard(() =>
      kv.atomic().check(entry).delete(policyKey(name)).sum(POLICY_VERSION_KEY, 1n).commit()
    );
    if (result.ok) return true;
  }
  throw new StoreError(`Too much contention deleting policy ${JSON.stringify(name)}`);
}

/** Every stored policy, by name. */
export async function listPolicies(kv: KvLike): Promise<Policy[]> {
  const entries = await guard(() => Array.fromAsync(kv.list<Policy>({ prefix: POLICY_PREFIX })));
  // Written by putPolicy from a decoded Policy: ours, not untrusted input.
  return entries.map((e) => e.value);
}

/** The policy version key, for watching. */
export const POLICY_VERSION: Deno.KvKey = POLICY_VERSION_KEY;

/** Up to `limit` due records with `at` at or before `now`, earliest first. */
export async function dueUpTo(kv: KvLike, now: number, limit: number): Promise<DueEntry[]> {
  const entries = await guard(() => Array.fromAsync(kv.list<DueRecord>(dueRange(now), { limit })));
  return entries.map(toEntry);
}

/** When the earliest record due after `now` is due, if any. */
export async function nextDue(kv: KvLike, now: number): Promise<number | undefined> {
  const [entry] = await guard(() =>
    Array.fromAsync(kv.list<DueRecord>(dueAfter(now), { limit: 1 }))
  );
  return entry === undefined ? undefined : toEntry(entry).at;
}

function toEntry(entry: Deno.KvEntry<DueRecord>): DueEntry {
  // Written by this module from a DueRecord: ours, not untrusted input.
  return { at: Number(entry.key[1]), record: entry.value, revision: entry.versionstamp };
}

/**
 * Claims deadline `entry`: unless its alarm is acknowledged, replaces it with a fire record
 * leased until `leaseUntil` and, when `next` is given, the deadline of the next step. Exactly
 * one claimer of an entry sees `claimed`; an acknowledged alarm's deadline is deleted instead.
 * What decides is the condition's record for an alarm with a key (the id's acks are not about
 * it), else the id's acknowledgement; the claim's commit checks that record. A condition shelved
 * at `now` postpones the deadline to when the shelving ends, or to `recheckAt` if sooner: a
 * shelving may end early (unshelved, or cleared while shelved until cleared), and nothing but
 * looking again brings the deadline back.
 */
export async function claimDeadline(
  kv: KvLike,
  entry: DueEntry,
  leaseUntil: number,
  next: { at: number } | undefined,
  now: number,
  recheckAt: number,
): Promise<Claim> {
  const { record } = entry;
  const key = keyOf(entry.at, record);
  const held = { key, versionstamp: entry.revision };
  const ofCondition = record.key === undefined ? undefined : condKey(record.target, record.key);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const keys: Deno.KvKey[] = [ackKey(record.target), ...(ofCondition ? [ofCondition] : [])];
    const [ack, cond] = await guard(() => kv.getMany<unknown[]>(keys));
    // A keyed alarm's condition record is in KV from its raise on (the alarm's commit, or before
    // its deadline from the memory log): gone, it was back to normal long enough to be forgotten.
    const condition = decodeCondition(cond?.value);
    if (
      condition === undefined
        ? record.key !== undefined ||
          (ack!.value instanceof Deno.KvU64 && Number(ack!.value.value) >= record.seq)
        : handled(condition, record.seq)
    ) {
      const result = await guard(() => kv.atomic().check(held).delete(key).commit());
      return result.ok ? { outcome: "acknowledged" } : { outcome: "lost" };
    }
    if (condition?.shelved && isShelved(condition, now)) {
      // Shelved: no escalation while it lasts; the deadline comes back when it ends, or sooner
      // to see whether it ended early.
      const until = Math.min(condition.shelved.until, recheckAt);
      const result = await guard(() =>
        kv.atomic().check(held).check(cond!).delete(key).set(keyOf(until, record), record).commit()
      );
      return result.ok ? { outcome: "postponed", until } : { outcome: "lost" };
    }
    const fire: DueRecord = { ...record, kind: "fire", attempt: 0, published: false };
    const op = kv.atomic().check(held).delete(key).set(keyOf(leaseUntil, fire), fire);
    // What was read and decided: the condition's record (or its absence), else the id's acks.
    if (cond) op.check(cond);
    if (condition === undefined) op.check(ack!);
    if (next) {
      const { target, seq, policy, step } = record;
      const later = deadlineRecord(target, seq, policy, step + 1, next.at, record.key);
      op.set(keyOf(next.at, later), later);
    }
    const result = await guard(() => op.commit());
    if (result.ok) {
      return {
        outcome: "claimed",
        fire: { at: leaseUntil, record: fire, revision: result.versionstamp },
      };
    }
    // Either someone else moved the entry, or what decides changed: tell which.
    const current = await guard(() => kv.get(key));
    if (current.versionstamp !== entry.revision) return { outcome: "lost" };
  }
  throw new StoreError(`Too much contention claiming an escalation of ${record.target}`);
}

/**
 * Whether condition `condition` no longer needs the escalation of its raise `seq`: acknowledged
 * (or back to normal), or raised afresh after that episode ended.
 */
function handled(condition: Condition, seq: number): boolean {
  return condition.state === "active-acknowledged" || condition.state === "normal" ||
    condition.firstSeq > seq;
}

/**
 * Moves due record `entry` to `at` with `record`'s contents, if nobody moved it first: what a
 * lease, a retry or a published mark is. The moved entry, or `undefined` when lost.
 */
export async function moveDue(
  kv: KvLike,
  entry: DueEntry,
  at: number,
  record: DueRecord,
): Promise<DueEntry | undefined> {
  const key = keyOf(entry.at, entry.record);
  const result = await guard(() =>
    kv.atomic().check({ key, versionstamp: entry.revision }).delete(key)
      .set(keyOf(at, record), record).commit()
  );
  return result.ok ? { at, record, revision: result.versionstamp } : undefined;
}

/** Deletes due record `entry` if nobody moved it first; whether it did. */
export async function removeDue(kv: KvLike, entry: DueEntry): Promise<boolean> {
  const key = keyOf(entry.at, entry.record);
  const result = await guard(() =>
    kv.atomic().check({ key, versionstamp: entry.revision }).delete(key).commit()
  );
  return result.ok;
}
