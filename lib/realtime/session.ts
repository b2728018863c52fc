/**
 * A session: one WebSocket connection on one id, as the registry and fan-out see it.
 *
 * @module
 */
import { type Grant, TokenBucket } from "../core/mod.ts";
import type { Codec, Transport, Wire } from "./codec.ts";
import type { PushSocket } from "./socket.ts";

/** One connected client. Fields other than `socket` are read by the sessions API. */
export class Session {
  /** Unique per connection, so two tabs on one id are told apart. */
  readonly sessionId: string;
  /** The id from `/websocket/{id}`. */
  readonly id: string;
  /** The wire format the client chose: frames are built with it, client frames read with it. */
  readonly codec: Codec;
  /** What the connection can do. */
  readonly transport: Transport;
  /** The socket; only the registry sends on it. */
  readonly socket: PushSocket;
  /** Epoch ms when the socket opened. */
  readonly connectedAt: number;
  /** Epoch ms of the last inbound frame (heartbeat or otherwise). */
  lastSeen: number;
  /** Highest seq the client acknowledged (v1 `ack`), 0 if none. */
  ackedSeq = 0;
  /** Highest alarm seq handed to this session; nothing at or below it is sent again. */
  lastSeq = 0;
  /** True while stored alarms are replayed (`since`); live deliveries skip the session then. */
  replaying = false;
  /** Frame characters sent since `bufferedAmount` was last looked at (see `Registry.send`). */
  unchecked = 0;
  /** Invalid frames in a row; reset by a valid one. */
  strikes = 0;
  /** Set once the session's end has been handled. */
  ended = false;
  /** The close the server sent first, if it started the closing handshake. */
  closedWith: { code: number; reason: string } | undefined;
  /** What the connection token grants; `undefined` when tokens are not in use. */
  readonly grant: Grant | undefined;
  /** Inbound message budget. */
  readonly bucket: TokenBucket;
  /** Called once when the session ends; set by whoever waits for it (shutdown). */
  onEnded: (() => void) | undefined;

  constructor(
    socket: PushSocket,
    id: string,
    wire: Wire,
    now: number,
    grant?: Grant,
    limits: { rate: number; burst: number } = { rate: 1, burst: 1 },
  ) {
    this.sessionId = crypto.randomUUID();
    this.grant = grant;
    this.bucket = new TokenBucket(limits.rate, limits.burst, now);
    this.socket = socket;
    this.id = id;
    this.codec = wire.codec;
    this.transport = wire.transport;
    this.connectedAt = now;
    this.lastSeen = now;
  }

  /** The JSON the sessions API shows for this session. */
  toJSON(): Record<string, unknown> {
    return {
      sessionId: this.sessionId,
      id: this.id,
      protocol: this.codec.name,
      connectedAt: new Date(this.connectedAt).toISOString(),
      lastHeartbeat: new Date(this.lastSeen).toISOString(),
      ackedSeq: this.ackedSeq,
      ...(this.grant ? { tokenExpiresAt: new Date(this.grant.expiresAt).toISOString() } : {}),
    };
  }
}
