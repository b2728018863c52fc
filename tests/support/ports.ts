/**
 * Loopback ports for servers started as separate processes, which must be told their port.
 *
 * @module
 */

/** A port nothing listens on now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves once something accepts connections on `port`; rejects after `attempts` tries. */
export async function listening(port: number, attempts = 200, pauseMs = 25): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
  throw new Error(`Nothing listens on port ${port}`);
}
