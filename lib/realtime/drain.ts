/**
 * Ending sessions in bulk: the heartbeat sweep and the shutdown drain.
 *
 * @module
 */
import { CLOSE_HEARTBEAT_TIMEOUT, CLOSE_RESTART, CLOSE_TOKEN_EXPIRED } from "../core/mod.ts";
import type { Registry } from "./registry.ts";

/**
 * Closes sessions whose last inbound frame is older than `deadline` (4000) and those whose
 * token expired by `now` (4001). Returns how many. Transports whose clients never send (SSE) are
 * kept alive by the server's heartbeats instead, and a client that went away fails those writes.
 */
export function sweepSessions(registry: Registry, deadline: number, now: number): number {
  let closed = 0;
  for (const session of [...registry.all()]) {
    if (session.grant && session.grant.expiresAt <= now) {
      registry.close(session, CLOSE_TOKEN_EXPIRED, "token expired");
    } else if (session.lastSeen < deadline && session.transport.clientHeartbeats) {
      registry.close(session, CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout");
    } else continue;
    closed++;
  }
  return closed;
}

/**
 * Closes every session with 1012 so clients reconnect, and resolves once each closing
 * handshake finished or `graceMs` passed. Deno's `close()` is asynchronous: stopping the
 * server before the handshakes finish would replace our 1012 with its own 1001.
 */
export async function drain(registry: Registry, graceMs: number): Promise<void> {
  const ended = [...registry.all()].map((session) =>
    new Promise<void>((resolve) => session.onEnded = resolve)
  );
  registry.closeAll(CLOSE_RESTART, "service restart");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
  await Promise.race([Promise.all(ended), timeout]);
  clearTimeout(timer);
}
