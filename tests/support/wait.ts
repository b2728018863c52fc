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
