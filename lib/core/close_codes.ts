/**
 * WebSocket close codes the server uses, and what a client should do on each.
 *
 * @module
 */

/** Unsupported data: the client sent a binary frame. Fix the client; don't reconnect blindly. */
export const CLOSE_UNSUPPORTED_DATA = 1003;
/** Policy violation: repeated invalid messages, or over the message rate. Stop and report. */
export const CLOSE_POLICY = 1008;
/** Message too big: an inbound message passed the limit. Stop and report. */
export const CLOSE_TOO_BIG = 1009;
/** Internal error in this socket's handler. Reconnect with backoff. */
export const CLOSE_INTERNAL = 1011;
/** Service restart: the server is shutting down. Reconnect with backoff. */
export const CLOSE_RESTART = 1012;
/** The connection token expired while connected. Fetch a new token, then reconnect. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** No heartbeat within the timeout. Reconnect. */
export const CLOSE_HEARTBEAT_TIMEOUT = 4000;
/** The client read too slowly and its queue passed the threshold. Reconnect (resume with `since`). */
export const CLOSE_SLOW_CONSUMER = 4008;
