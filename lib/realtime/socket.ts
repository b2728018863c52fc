/**
 * The socket contract between the realtime core and a transport adapter: the small surface a
 * session sends on ({@linkcode PushSocket}), and the handlers the adapter calls with the
 * socket's events ({@linkcode SocketHandlers}). The Deno adapter (`http/upgrade.ts`) imports
 * this; nothing here knows Deno's `WebSocket`.
 *
 * @module
 */

/** The socket surface the registry needs, satisfied by Deno's `WebSocket` and by test fakes. */
export interface PushSocket {
  /** Queues a text frame; never blocks. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** `WebSocket.OPEN` (1) while frames may be sent. */
  readonly readyState: number;
  /** Bytes queued and not yet written to the network. */
  readonly bufferedAmount: number;
  /**
   * The queue its frames wait in, where other sockets share it (one event stream carrying several
   * ids); absent: its own.
   */
  readonly queue?: object;
}

/** `WebSocket.OPEN`, spelled out so this module doesn't depend on the global. */
export const OPEN = 1;

/** What the server does with one socket's events; the adapter guards every call. */
export interface SocketHandlers {
  /** The socket is open and may be sent to. */
  onOpen(): void;
  /** A text message within the size limit arrived. */
  onText(text: string): void;
  /** The socket closed (may be called more than once; must be idempotent). */
  onClose(code: number, reason: string): void;
  /** Something went wrong; `kind` is a stable metric label. */
  onFault(kind: string, error?: unknown): void;
  /**
   * The adapter found a violation (binary frame, message too big, a failing handler): close the
   * socket from the server side with `code` and `reason`. `onClose` follows when it is gone.
   */
  close(code: number, reason: string): void;
}
