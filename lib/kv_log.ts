/**
 * The alarm log on Deno KV: per target a head key holding the last seq, and the alarms (laid out
 * by `alarm_parts.ts`). Appends go through the group-commit {@linkcode Appender}.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "./alarm.ts";
import { joinAlarm } from "./alarm_parts.ts";
import { type Appended, Appender, type Retention } from "./appender.ts";
import { guard, headKey } from "./kv_util.ts";

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Alarm logs of every target, in one KV database shared by every isolate that opens it. */
export class KvLog {
  readonly #kv: Deno.Kv;
  readonly #appender: Appender;

  constructor(kv: Deno.Kv, retention: Retention) {
    this.#kv = kv;
    this.#appender = new Appender(kv, retention);
  }

  /** Stores `prepared` as the next alarm of `target`, unless `idempotencyKey` was used. */
  append(target: string, prepared: PreparedAlarm, idempotencyKey?: string): Promise<Appended> {
    return this.#appender.append(target, prepared, idempotencyKey);
  }

  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  async read(target: string, after: number, limit: number): Promise<Alarm[]> {
    // Everything inside the guard: a retried attempt starts over.
    return await guard(async () => {
      const entries = this.#kv.list<Uint8Array>({
        start: ["alarm", target, after + 1],
        end: ["alarm", target, MAX_SEQ],
      }, { limit: limit * 2 });
      const alarms: Alarm[] = [];
      let pending: Uint8Array[] = [];
      for await (const { key, value } of entries) {
        const [, , , part, parts] = key;
        if (part === 0) pending = [];
        pending.push(value);
        if (typeof parts === "number" && pending.length === parts) {
          alarms.push(joinAlarm(pending));
          if (alarms.length === limit) break;
        }
      }
      return alarms;
    });
  }

  /** The last seq of `target` (0 before its first alarm). */
  async head(target: string): Promise<number> {
    return (await guard(() => this.#kv.get<number>(headKey(target)))).value ?? 0;
  }
}
