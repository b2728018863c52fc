/**
 * What the memory log keeps in KV besides its own memory: the records every isolate's timers read
 * there (escalation deadlines, the ends of shelvings, and conditions for escalation to check).
 * Written in order by one writer, each condition at its latest state only, several per commit:
 * a burst of raises costs a few commits, and a queue never outgrows the conditions it holds.
 *
 * @module
 */
import type { Alarm, Condition } from "../core/mod.ts";
import type { DueSpec } from "./alarm_log.ts";
import type { KvLike } from "./call_timeout.ts";
import { writeCondition } from "./conditions.ts";
import { writeDeadline } from "./escalations.ts";
import { guard } from "./guard.ts";
import { writeShelvingEnd } from "./shelvings.ts";

/** Mutations per commit at most, well inside KV's limits (a condition's record is under 64 KiB). */
const PER_COMMIT = 10;
/** Pause after a failed batch before its copies go again, with whatever was queued since. */
const RETRY_MS = 1000;

interface Batch {
  /** Latest state per condition (`id\nkey`), in the order first queued. */
  conditions: Map<string, Condition>;
  writes: ((op: Deno.AtomicOperation) => void)[];
  done: PromiseWithResolvers<void>;
}

/** The memory log's copies in KV, written in the order they were asked for. */
export class KvCopies {
  readonly #kv: KvLike;
  readonly #retentionMs: number;
  #next: Batch | undefined;
  #writing = false;

  constructor(kv: KvLike, retentionMs: number) {
    this.#kv = kv;
    this.#retentionMs = retentionMs;
  }

  /** Queues `condition` as it is now; resolves once it (or a later state of it) is written. */
  condition(condition: Condition): Promise<void> {
    const batch = this.#batch();
    const id = `${condition.id}\n${condition.key}`;
    batch.conditions.delete(id); // its latest state, after the changes queued before it
    batch.conditions.set(id, condition);
    return batch.done.promise;
  }

  /** Queues an escalation deadline of `alarm`; resolves once written. */
  deadline(alarm: Alarm, due: DueSpec, key?: string): Promise<void> {
    return this.#add((op) => writeDeadline(op, alarm, due, key));
  }

  /** Queues the end of a shelving of `key` of `target` at `until`; resolves once written. */
  shelvingEnd(target: string, key: string, until: number): Promise<void> {
    return this.#add((op) => writeShelvingEnd(op, target, key, until));
  }

  #add(write: (op: Deno.AtomicOperation) => void): Promise<void> {
    const batch = this.#batch();
    batch.writes.push(write);
    return batch.done.promise;
  }

  #batch(): Batch {
    const batch = this.#next ??= emptyBatch();
    if (!this.#writing) void this.#write();
    return batch;
  }

  // One batch at a time, in order; what is queued meanwhile goes in the next.
  async #write(): Promise<void> {
    this.#writing = true;
    await Promise.resolve(); // what the same turn queues goes together
    for (let batch = this.#next; batch; batch = this.#next) {
      this.#next = undefined;
      const writes = [
        ...[...batch.conditions.values()].map((c) => (op: Deno.AtomicOperation) =>
          writeCondition(op, c, this.#retentionMs)
        ),
        ...batch.writes,
      ];
      try {
        for (let i = 0; i < writes.length; i += PER_COMMIT) {
          const op = this.#kv.atomic();
          for (const write of writes.slice(i, i + PER_COMMIT)) write(op);
          await guard(() => op.commit());
        }
        batch.done.resolve();
      } catch (error) {
        // Its callers hear of it (a 503: maybe stored), but the memory log holds the changes:
        // their copies go again with the next batch, or escalation would act on a stale one.
        batch.done.reject(error);
        this.#requeue(batch);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    this.#writing = false;
  }

  // Puts a failed batch's copies back in the next one: a condition's later state, queued since,
  // wins; deadlines and shelvings' ends (written again as they are) go first, in their order.
  #requeue(failed: Batch): void {
    const next = this.#next ??= emptyBatch();
    next.done.promise.catch(() => {}); // nobody may be waiting for it
    const later = next.conditions;
    next.conditions = new Map(failed.conditions);
    for (const [id, condition] of later) {
      next.conditions.delete(id);
      next.conditions.set(id, condition);
    }
    next.writes.unshift(...failed.writes);
  }
}

function emptyBatch(): Batch {
  return { conditions: new Map(), writes: [], done: Promise.withResolvers() };
}
