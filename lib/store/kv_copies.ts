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
  /** Copies of failed batches, nobody waiting: they go with the next batch a change starts. */
  #parked: Batch | undefined;
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
    if (this.#next === undefined) {
      this.#next = emptyBatch();
      // What failed before goes first, its conditions at their latest state by then.
      if (this.#parked) merge(this.#next, this.#parked);
      this.#parked = undefined;
    }
    if (!this.#writing) void this.#write();
    return this.#next;
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
        // their copies go again with the next change's batch (not on a timer: a store that stays
        // down costs nothing more), or escalation would act on a stale copy.
        batch.done.reject(error);
        if (this.#parked) merge(batch, this.#parked);
        this.#parked = batch;
      }
    }
    this.#writing = false;
  }
}

function emptyBatch(): Batch {
  return { conditions: new Map(), writes: [], done: Promise.withResolvers() };
}

// Puts what `earlier` holds before what `batch` holds: a condition's state in `batch`, later, wins;
// deadlines and shelvings' ends (written again as they are) keep their order.
function merge(batch: Batch, earlier: Batch): void {
  const later = batch.conditions;
  batch.conditions = new Map(earlier.conditions);
  for (const [id, condition] of later) {
    batch.conditions.delete(id);
    batch.conditions.set(id, condition);
  }
  batch.writes.unshift(...earlier.writes);
}
