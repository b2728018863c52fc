/**
 * Loopback ports for servers started as separate processes, which must be told their port.
 *
 * @module
 */

/**
 * A port nothing listens on now, below Linux's ephemeral range (32768–60999). A port from that
 * range could be taken, before the server binds it, by an outgoing connection's local port; and
 * polling it while nothing listens can even connect a client to itself (a TCP self-connect),
 * which holds the port: both made a starting server fail now and then with "address in use".
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // Taken: try another.
    }
  }
  throw new Error("No free port between 20000 and 32000");
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
