/**
 * The alarm log on Deno KV: per target a head key holding the last seq, and the alarms under
 * `["alarm", target, seq, part, parts]` (split because a KV value holds at most 64 KiB). Appends
 * go through the group-commit {@linkcode Appender}.
 *
 * @module
 */
import type { Alarm, PreparedAlarm } from "./alarm.ts";
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
          alarms.push(decode(pending));
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

function decode(parts: Uint8Array[]): Alarm {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  // Written by append() from an Alarm; the store is ours, not untrusted input.
  return JSON.parse(new TextDecoder().decode(bytes));
}
