/**
 * Waiting for server-side state that has no event a client can await.
 *
 * @module
 */
import { WAIT_MS } from "./client.ts";

/** Resolves once `predicate` holds, checking every few milliseconds; rejects after `ms`. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  ms = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves once `GET <base>/healthz` answers 200; rejects after `ms`. */
export async function healthy(base: string, ms = WAIT_MS): Promise<void> {
  await waitFor(async () => {
    try {
      const res = await fetch(`${base}/healthz`);
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false; // not listening (yet, or again)
    }
  }, ms);
}
