/**
 * Teardowns with a deadline: a test's clients, streams, servers and processes must let go within
 * seconds. One that hangs (a socket that never closes, a process that never exits, a server
 * waiting on a connection) fails the test it belongs to, by name, instead of holding the whole
 * run until CI's limit.
 *
 * @module
 */

/** Longest any one teardown may take. */
export const TEARDOWN_MS = 15_000;

/** Awaits `work`, the teardown of `what`; rejects naming it if that takes over `ms`. */
export async function within<T>(what: string, work: Promise<T>, ms = TEARDOWN_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Teardown of ${what} did not finish within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
