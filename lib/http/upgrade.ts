/**
 * The Deno WebSocket adapter, the one module that touches real WebSockets: validates the handshake (Deno accepts some that
 * RFC 6455 forbids), calls `Deno.upgradeWebSocket`, and wires socket events to handlers so that
 * an exception in a handler closes that socket with 1011 instead of killing the process.
 *
 * @module
 */
import { CLOSE_INTERNAL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED_DATA, PROTOCOL_V1 } from "../core/mod.ts";
import type { PushSocket, SocketHandlers, Transport, Wire } from "../realtime/mod.ts";
import { TOKEN_PROTOCOL_PREFIX } from "./access.ts";
import { HttpError } from "./errors.ts";
import { LEGACY_CODEC, V1_CODEC } from "./socket_codecs.ts";

/** A WebSocket: the client sends (heartbeats, messages, acks) as well as receives. */
export const WEBSOCKET: Transport = { bidirectional: true, clientHeartbeats: true };
/** A socket of the old page: no subprotocol. */
export const LEGACY_WIRE: Wire = { codec: LEGACY_CODEC, transport: WEBSOCKET };
/** A socket speaking `alarms.v1`. */
export const V1_WIRE: Wire = { codec: V1_CODEC, transport: WEBSOCKET };

/** Options for {@linkcode acceptWebSocket}. */
export interface AcceptOptions {
  /** What {@linkcode negotiate} chose. */
  wire: Wire;
  /** Seconds before an unanswered protocol ping closes the socket; 0 disables. */
  idleTimeoutSeconds: number;
  /** Largest inbound message in UTF-8 bytes. */
  maxMessageBytes: number;
}

// 16 random bytes in base64 are exactly 22 characters and "==".
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Checks an upgrade request before anything is upgraded and returns the wire format to speak
 * over the socket: `alarms.v1` when offered, else the old page's.
 * Throws an {@linkcode HttpError}: 426 if it isn't a WebSocket upgrade, 400 for a version other
 * than 13, a malformed key, or subprotocols offered without `alarms.v1`.
 */
export function negotiate(headers: Headers): Wire {
  const upgrade = headers.get("upgrade") ?? "";
  if (!upgrade.split(",").some((token) => token.trim().toLowerCase() === "websocket")) {
    throw new HttpError(426, "upgrade_required", "This endpoint only accepts WebSocket upgrades", {
      upgrade: "websocket",
      connection: "Upgrade",
    });
  }
  if (headers.get("sec-websocket-version") !== "13") {
    throw new HttpError(400, "bad_handshake", 'Sec-WebSocket-Version must be "13"', {
      "sec-websocket-version": "13",
    });
  }
  if (!KEY_PATTERN.test(headers.get("sec-websocket-key") ?? "")) {
    throw new HttpError(400, "bad_handshake", "Sec-WebSocket-Key must be 16 bytes in base64");
  }
  const offered = (headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
    .filter((p) => p !== "");
  if (offered.includes(PROTOCOL_V1)) {
    // Deno.upgradeWebSocket finds the protocol to echo only in a list separated by ", " exactly
    // (what browsers send); elsewhere it throws, which would be a misleading bad_handshake.
    if (!(headers.get("sec-websocket-protocol") ?? "").split(", ").includes(PROTOCOL_V1)) {
      throw new HttpError(
        400,
        "unsupported_subprotocol",
        `Subprotocols must be separated by ", " (comma and one space)`,
      );
    }
    return V1_WIRE;
  }
  if (offered.some((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))) {
    // The server may only echo a protocol the client offered, and a token is never echoed.
    throw new HttpError(
      400,
      "unsupported_subprotocol",
      `A token subprotocol must be offered next to "${PROTOCOL_V1}"; legacy clients pass ?token=`,
    );
  }
  if (offered.length > 0) {
    throw new HttpError(400, "unsupported_subprotocol", `Only "${PROTOCOL_V1}" is supported`);
  }
  return LEGACY_WIRE;
}

/**
 * Upgrades `req` (already checked by {@linkcode negotiate}) and wires its events to the
 * handlers `attach` returns. Every handler call is guarded.
 */
export function acceptWebSocket(
  req: Request,
  options: AcceptOptions,
  attach: (socket: PushSocket) => SocketHandlers,
): Response {
  let upgraded: Deno.WebSocketUpgrade;
  try {
    upgraded = Deno.upgradeWebSocket(req, {
      idleTimeout: options.idleTimeoutSeconds,
      ...(options.wire.codec === V1_CODEC ? { protocol: PROTOCOL_V1 } : {}),
    });
  } catch {
    // e.g. a missing `Connection: Upgrade`; Deno throws a TypeError.
    throw new HttpError(400, "bad_handshake", "Invalid WebSocket upgrade request");
  }
  const { socket, response } = upgraded;
  // One listener object for all four events: no closures kept per socket.
  const events = new SocketEvents(socket, attach(socket), options.maxMessageBytes);
  for (const type of ["open", "message", "close", "error"]) socket.addEventListener(type, events);
  return response;
}

/** Routes one socket's events to its handlers, each call guarded. */
class SocketEvents implements EventListenerObject {
  readonly #socket: WebSocket;
  readonly #handlers: SocketHandlers;
  readonly #maxBytes: number;

  constructor(socket: WebSocket, handlers: SocketHandlers, maxBytes: number) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#maxBytes = maxBytes;
  }

  handleEvent(event: Event): void {
    if (event.type === "open") this.#guard(() => this.#handlers.onOpen());
    else if (event instanceof MessageEvent) this.#message(event.data);
    else if (event instanceof CloseEvent) {
      this.#guard(() => this.#handlers.onClose(event.code, event.reason));
    }
    // An error event is always followed by close: listening only keeps it from being unhandled.
  }

  #message(data: unknown): void {
    if (typeof data !== "string") {
      this.#fail("binary_message", CLOSE_UNSUPPORTED_DATA, "binary frames are not supported");
    } else if (exceedsUtf8Bytes(data, this.#maxBytes)) {
      this.#fail("message_too_big", CLOSE_TOO_BIG, "message too big");
    } else {
      this.#guard(() => this.#handlers.onText(data));
    }
  }

  #fail(kind: string, code: number, reason: string, error?: unknown): void {
    try {
      this.#handlers.onFault(kind, error);
    } catch {
      // A failing fault handler must not stop the socket from closing.
    }
    try {
      this.#handlers.close(code, reason);
    } catch {
      try {
        this.#socket.close(code, reason);
      } catch {
        // Already closed.
      }
    }
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (this.#socket.readyState <= WebSocket.OPEN) {
        this.#fail("socket_handler", CLOSE_INTERNAL, "internal error", error);
      } else {
        try {
          this.#handlers.onFault("socket_handler", error);
        } catch {
          // Nothing else to report to.
        }
      }
    }
  }
}

/**
 * Whether `text` is longer than `limit` bytes in UTF-8, counted only when it could matter: each
 * UTF-16 unit is 1 to 3 bytes, so most strings are decided by their length alone.
 */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair is 4 bytes in UTF-8
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}
