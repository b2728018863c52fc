/**
 * A publisher at a steady rate, as a backend with a stream of alarms is: one POST every so many
 * milliseconds whatever became of the earlier ones, each with its own `Idempotency-Key`, every
 * answer and its latency recorded. Then the checks every outage test makes: each answer came
 * within the store's deadline, and once the store is back, each alarm is stored exactly once
 * (a 503 retried with its key is found, never stored twice).
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { storedAlarms } from "./history.ts";

/** One publish and its answer. */
export interface Answer {
  /** The alarm's `n` field and its `Idempotency-Key` (`steady-<n>`). */
  n: number;
  status: number;
  /** Milliseconds from sending to the whole answer. */
  ms: number;
  /** The seq a 2xx answer gave. */
  seq?: number;
  /** A 503's Retry-After. */
  retryAfter?: string | null;
}

/** POSTs `{ n }` to `url` with key `steady-<n>`; the answer, timed. */
export async function publishKeyed(url: string, n: number): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": `steady-${n}` },
      body: JSON.stringify({ level: "high", message: "steady", n }),
    });
    const body = await res.json();
    const ms = performance.now() - started;
    return res.ok
      ? { n, status: res.status, ms, seq: body.seq }
      : { n, status: res.status, ms, retryAfter: res.headers.get("retry-after") };
  } catch {
    return { n, status: 0, ms: performance.now() - started }; // no answer: the server is gone
  }
}

/**
 * Publishes `count` alarms to `url`, one every `everyMs`, not waiting for answers; `onSend(n)`
 * runs before alarm `n` goes (where a test changes the store's behaviour). Resolves with every
 * answer once all have come.
 */
export async function publishSteadily(
  url: string,
  everyMs: number,
  count: number,
  onSend: (n: number) => void = () => {},
): Promise<Answer[]> {
  const answers: Promise<Answer>[] = [];
  const started = performance.now();
  for (let n = 0; n < count; n++) {
    // Against the clock, not after each pause: a slow tick doesn't lower the rate.
    const at = started + n * everyMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));
    onSend(n);
    answers.push(publishKeyed(url, n));
  }
  return await Promise.all(answers);
}

/** Every answer is a 202 or a 503 with `Retry-After`, within `limitMs`; the slowest, in ms. */
export function assertAnsweredWithin(answers: Answer[], limitMs: number): number {
  let slowest = 0;
  for (const a of answers) {
    assert(a.status === 202 || a.status === 503, `publish ${a.n}: status ${a.status}`);
    if (a.status === 503) assert(a.retryAfter, `publish ${a.n}: a 503 without Retry-After`);
    assert(a.ms <= limitMs, `publish ${a.n} answered in ${Math.round(a.ms)} ms (> ${limitMs})`);
    slowest = Math.max(slowest, a.ms);
  }
  return slowest;
}

/**
 * Retries every refused publish with its key until it is answered 2xx, then reads the id's
 * history from `base` and checks that each alarm `n` is stored exactly once, with the seq its
 * 2xx answer gave, and that seqs are contiguous. Returns how many refused ones had landed
 * anyway (the retry found them by key).
 */
export async function assertStoredOnce(
  base: string,
  id: string,
  answers: Answer[],
  retryMs = 30_000,
): Promise<{ refused: number; landedAnyway: number }> {
  const url = `${base}/api/alarms/${id}`;
  const seqOf = new Map<number, number>();
  let landedAnyway = 0;
  const refused = answers.filter((a) => a.status !== 202);
  for (const a of answers) if (a.status === 202) seqOf.set(a.n, a.seq!);
  const deadline = Date.now() + retryMs;
  for (const a of refused) {
    for (;;) {
      const retry = await publishKeyed(url, a.n);
      if (retry.status === 200 || retry.status === 202) {
        if (retry.status === 200) landedAnyway++; // a duplicate: the refused one was stored
        seqOf.set(a.n, retry.seq!);
        break;
      }
      assert(Date.now() < deadline, `publish ${a.n} still refused after ${retryMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const stored = await storedAlarms(base, id);
  assertEquals(stored.map((a) => a.seq), stored.map((_, i) => stored[0]!.seq + i), "gap-free");
  const byN = new Map<number, number[]>();
  for (const a of stored) {
    if (typeof a.n === "number") byN.set(a.n, [...(byN.get(a.n) ?? []), a.seq]);
  }
  for (const a of answers) {
    assertEquals(byN.get(a.n), [seqOf.get(a.n)], `alarm ${a.n}: stored once, at its seq`);
  }
  return { refused: refused.length, landedAnyway };
}
