/**
 * Heartbeat timing, in one place: how often clients heartbeat, and the protocol-ping timeout that
 * goes with it. Deno's `idleTimeout` pings a socket after half the timeout without an inbound
 * frame; a client that sends while that ping waits to be written can be closed although it
 * answered (docs/decisions.md, "Deno's protocol ping never reaches a client that heartbeats"), so
 * the timeout is chosen for clients that heartbeat never to be pinged.
 *
 * @module
 */

/** How often the old page sends `PING`: fixed in its code. */
export const LEGACY_PING_INTERVAL_MS = 30_000;

/** The interval `alarms.v1` clients are told to heartbeat at: a third of the timeout, so two may be lost. */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number): number {
  return Math.floor(heartbeatTimeoutMs / 3);
}

/** The longest interval any client heartbeats at: the old page's or the one v1 clients are told. */
export function longestHeartbeatMs(heartbeatTimeoutMs: number): number {
  return Math.max(LEGACY_PING_INTERVAL_MS, heartbeatIntervalMs(heartbeatTimeoutMs));
}

/**
 * The shortest protocol-ping timeout, in whole seconds, for clients that heartbeat every
 * `intervalMs`: 2.5 intervals. Deno pings after 1.25 intervals of silence, so a client that
 * heartbeats is never pinged, and a peer that vanished is closed after 2.5: with the default
 * heartbeat timeout (3 intervals), before the sweep, whose close leaves a silent peer's
 * connection held until TCP gives up on it.
 */
export function idleTimeoutFor(intervalMs: number): number {
  return Math.ceil((intervalMs * 2.5) / 1000);
}
