/**
 * The Server-Sent Events transport, `GET /events/{id}` and `GET /events?id=a&id=b`: for
 * networks that refuse WebSocket upgrades. Each id of a stream is a session like a socket's (same
 * admission, caps, fan-out, replay, presence and slow-consumer cut-off); this adapter is the
 * stream's side of the socket contract, as `upgrade.ts` is the WebSocket's.
 *
 * @module
 */
import {
  CLOSE_INTERNAL,
  decodeCursor,
  encodeCursor,
  type EntryFrames,
  type Grant,
  MAX_STREAM_IDS,
  parseSeq,
  PROTOCOL_SSE,
  quote,
  SSE_HEARTBEAT,
  sseAlarmFrame,
  sseControlFrame,
  sseDataFrame,
  sseRetryFrame,
} from "../core/mod.ts";
import {
  type Codec,
  type Hub,
  type Inbound,
  OPEN,
  type PushSocket,
  type SessionEvent,
  type Slot,
  type SocketHandlers,
  type Transport,
} from "../realtime/mod.ts";
import { HttpError } from "./errors.ts";
import { checkId, oneParam } from "./request.ts";

/** Longest a stream stays silent: a comment goes out after this, so proxies keep it open. */
export const SSE_HEARTBEAT_MS = 15_000;
/** A stream: the server writes, the client never sends; the server's heartbeats find the dead. */
export const SSE: Transport = { bidirectional: false, clientHeartbeats: false };
/** The reconnection delay `EventSource` is advised to use. */
const RETRY_MS = 2000;
/** `WebSocket.CLOSED`, what a finished stream reports as its `readyState`. */
const CLOSED = 3;
const encoder = new TextEncoder();
/** Largest piece of a frame handed to the response at once. */
const CHUNK_BYTES = 16 * 1024;
/**
 * The last frame encoded and its bytes: fan-out writes the same frame to every stream of an id
 * in a row, so it is encoded once, not once per stream (the chunks are never written to).
 */
let lastText = "";
let lastBytes = new Uint8Array();

function encode(text: string): Uint8Array {
  if (text !== lastText) {
    lastBytes = encoder.encode(text);
    lastText = text;
  }
  return lastBytes;
}

/** What a stream asks for: its ids, where each resumes (`undefined`: live), and its form. */
export interface StreamRequest {
  ids: string[];
  since: Map<string, number | undefined>;
  /** `/events?id=…`: event ids are cursors of every id (`a=5,b=7`), not bare seqs. */
  multi: boolean;
}

/**
 * Reads the ids and resume positions of `/events/{id}` (`rawId` given) or `/events?id=…`.
 * `Last-Event-ID` (what `EventSource` sends when it reconnects) wins over `?since=`; an empty
 * `since` is malformed, on both forms alike. Throws an {@linkcode HttpError} 400 for anything
 * malformed.
 */
export function parseStreamRequest(
  rawId: string | undefined,
  params: URLSearchParams,
  headers: Headers,
): StreamRequest {
  // An empty Last-Event-ID names no event (EventSource sends none then): as if absent.
  const lastEventId = headers.get("last-event-id") || null;
  const sinceParam = oneParam(params, "since"); // given twice is refused, even beside the header
  const position = lastEventId ?? sinceParam;
  const where = lastEventId === null ? '"since"' : "Last-Event-ID";
  if (rawId !== undefined) {
    const id = checkId(rawId);
    const seq = position === null ? undefined : parseSeq(position);
    if (position !== null && seq === undefined) {
      throw new HttpError(400, "invalid_cursor", `${where} must be a seq, got ${quote(position)}`);
    }
    return { ids: [id], since: new Map([[id, seq]]), multi: false };
  }
  const ids = params.getAll("id");
  if (ids.length === 0 || ids.length > MAX_STREAM_IDS) {
    throw new HttpError(
      400,
      "invalid_parameter",
      `Give 1 to ${MAX_STREAM_IDS} ids as "id" parameters, got ${ids.length}`,
    );
  }
  const since = new Map<string, number | undefined>();
  for (const id of ids) {
    if (since.has(checkId(id))) {
      throw new HttpError(400, "invalid_parameter", `Id ${quote(id)} is given twice`);
    }
    since.set(id, undefined);
  }
  if (position !== null) {
    const decoded = decodeCursor(position);
    if (!decoded.ok) throw new HttpError(400, "invalid_cursor", `${where}: ${decoded.message}`);
    // Entries of ids not asked for are ignored: a page that dropped an id keeps reconnecting
    // with the Last-Event-ID EventSource remembers.
    for (const [id, seq] of decoded.cursor) if (since.has(id)) since.set(id, seq);
  }
  return { ids, since, multi: true };
}

/** The open event streams of this isolate, and their heartbeats. */
export class EventStreams {
  readonly #streams = new Set<EventStream>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream for an admitted request: one session per id through `hub`, each released
   * (`slots`) when the stream ends. `headers` go on the response (CORS).
   */
  open(
    request: StreamRequest,
    hub: Hub,
    admitted: { grant: Grant | undefined; slots: Slot[] },
    headers: Record<string, string>,
  ): Response {
    const stream = new EventStream(request, this.#now, () => this.#streams.delete(stream));
    this.#streams.add(stream);
    const handlers = request.ids.map((id, i) => {
      const wire = { codec: stream.codecOf(id), transport: SSE };
      return hub.attach(id, wire, request.since.get(id), admitted.grant, admitted.slots[i])(
        new StreamView(stream),
      );
    });
    return stream.start(handlers, headers);
  }

  /** Sends a heartbeat on every stream silent for {@linkcode SSE_HEARTBEAT_MS}; call often. */
  tick(now: number): void {
    for (const stream of this.#streams) {
      if (now - stream.lastWrite >= SSE_HEARTBEAT_MS) stream.write(SSE_HEARTBEAT);
    }
  }
}

/** One response body carrying the events of one or more ids. */
class EventStream {
  readonly #request: StreamRequest;
  readonly #now: () => number;
  readonly #onEnd: () => void;
  /**
   * Each id's position, for the event ids of a stream of several ids, in the order the ids were
   * asked for (so the cursor reads the same whichever id moved first); -1 until known.
   */
  readonly #cursor: Map<string, number>;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #handlers: SocketHandlers[] = [];
  #open = true;
  /** Epoch ms of the last write, for heartbeats. */
  lastWrite: number;

  constructor(request: StreamRequest, now: () => number, onEnd: () => void) {
    this.#request = request;
    this.#now = now;
    this.#onEnd = onEnd;
    this.lastWrite = now();
    this.#cursor = new Map(request.ids.map((id) => [id, request.since.get(id) ?? -1]));
  }

  get open(): boolean {
    return this.#open;
  }

  /** Bytes written to the stream and not yet taken by the connection. */
  get queued(): number {
    return Math.max(0, -(this.#controller?.desiredSize ?? 0));
  }

  start(handlers: SocketHandlers[], headers: Record<string, string>): Response {
    this.#handlers = handlers;
    // A queue of size 0: desiredSize goes negative by exactly the bytes not yet taken.
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.#end(1001, "stream closed by the client"),
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });
    this.write(sseRetryFrame(RETRY_MS));
    for (const handler of handlers) this.#guard(handler, () => handler.onOpen());
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // nginx passes the stream on as it comes instead of buffering it.
        "x-accel-buffering": "no",
        ...headers,
      },
    });
  }

  /**
   * The wire format of `id` in this stream: event ids are the alarm's seq, or in a stream of
   * several ids the cursor of every id.
   */
  codecOf(id: string): Codec {
    if (!this.#request.multi) return SINGLE_ID_CODEC;
    return new SseCodec((seq) => {
      this.#cursor.set(id, seq);
      return encodeCursor(this.#cursor);
    });
  }

  write(text: string): void {
    if (!this.#open || !this.#controller) return;
    const bytes = encode(text);
    // Deno takes a chunk whole, however long writing it takes: a large frame (a conditions list)
    // goes in pieces, so what is queued keeps counting what the client hasn't read yet.
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      this.#controller.enqueue(bytes.subarray(at, at + CHUNK_BYTES));
    }
    this.lastWrite = this.#now();
  }

  /**
   * Ends the stream from the server side. With nothing queued the client gets a `close` event
   * and the response ends; a client that stopped reading has its connection aborted instead, so
   * a close never waits on it.
   */
  close(code: number, reason: string): void {
    if (!this.#open) return;
    if (this.queued === 0) {
      this.write(sseControlFrame({ event: "close", code, reason }));
      this.#open = false;
      this.#controller?.close();
    } else {
      this.#open = false;
      // Erroring the body makes Deno drop the connection. Deno 2.9 prints the error value to
      // stderr, so it is a log line in our format rather than a stack trace.
      this.#controller?.error(JSON.stringify({
        time: new Date(this.#now()).toISOString(),
        level: "warn",
        msg: "event stream cut off",
        code,
        reason,
      }));
    }
    this.#end(code, reason);
  }

  #ended = false;
  #end(code: number, reason: string): void {
    this.#open = false;
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
    for (const handler of this.#handlers) this.#guard(handler, () => handler.onClose(code, reason));
  }

  #guard(handler: SocketHandlers, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      try {
        handler.onFault("socket_handler", error);
      } catch {
        // Nothing else to report to.
      }
      this.close(CLOSE_INTERNAL, "internal error");
    }
  }
}

/** One id's view of a stream: the socket its session sends on. */
class StreamView implements PushSocket {
  readonly #stream: EventStream;

  constructor(stream: EventStream) {
    this.#stream = stream;
  }

  send(frame: string): void {
    this.#stream.write(frame);
  }

  /** Ends the whole stream: its ids share one connection. */
  close(code = 1000, reason = ""): void {
    this.#stream.close(code, reason);
  }

  get readyState(): number {
    return this.#stream.open ? OPEN : CLOSED;
  }

  get bufferedAmount(): number {
    return this.#stream.queued;
  }

  /** The stream: every id of it queues there. */
  get queue(): object {
    return this.#stream;
  }
}

/**
 * Server-Sent Events (format in `core/sse.ts`): alarms as unnamed events, so
 * `EventSource.onmessage` sees every one (a keyed alarm's condition goes just before it, as a
 * `condition` event); transitions, the welcome, the conditions, gaps and acks as named events;
 * nothing for messages between clients, which a stream can't answer. `eventId` turns a seq into the
 * event's id and is called once per event that moves the position.
 */
class SseCodec implements Codec {
  readonly name = PROTOCOL_SSE;
  readonly events = true;
  readonly #eventId: (seq: number) => number | string;
  /** Event ids depend on the seq only: the last frame is reused for every stream. */
  readonly #shared: boolean;
  #lastEntry: EntryFrames | undefined;
  #lastFrame = "";

  constructor(eventId: (seq: number) => number | string, shared = false) {
    this.#eventId = eventId;
    this.#shared = shared;
  }

  entry(frames: EntryFrames): string {
    if (this.#shared && frames === this.#lastEntry) return this.#lastFrame;
    const { seq, alarm, id, transition, condition } = frames;
    const eventId = this.#eventId(seq);
    this.#lastFrame = alarm !== undefined
      ? (condition === undefined ? "" : sseDataFrame("condition", condition)) +
        sseAlarmFrame(eventId, alarm)
      : sseDataFrame(
        "transition",
        `{"seq":${seq}${id === undefined ? "" : `,"id":${id}`},"transition":${transition}${
          condition === undefined ? "" : `,"condition":${condition}`
        }}`,
        eventId,
      );
    this.#lastEntry = frames;
    return this.#lastFrame;
  }

  event(event: SessionEvent): string | undefined {
    switch (event.type) {
      case "welcome": {
        const { sessionId, id, instance, seq, serverTime, conditions, sinceId, acked } = event;
        return sseControlFrame(
          {
            event: "welcome",
            sessionId,
            id,
            instance,
            seq,
            serverTime,
            ...(conditions === undefined ? {} : { conditions }),
            ...(sinceId === undefined ? {} : { sinceId }),
            ...(acked === undefined ? {} : { acked }),
          },
          this.#eventId(event.position),
        );
      }
      case "gap": {
        const { id, since, firstAvailable } = event;
        return sseControlFrame({ event: "gap", id, since, firstAvailable });
      }
      case "ack":
        return sseControlFrame({ event: "ack", id: event.id, seq: event.seq });
      case "conditions": {
        const { id, seq, conditions } = event;
        return sseDataFrame("conditions", JSON.stringify({ id, seq, conditions }));
      }
      default:
        return undefined;
    }
  }

  decode(): Inbound {
    return { kind: "ignored", metric: "invalid_message" }; // a stream has no way to send
  }
}

/** The format of every stream of one id: event ids are plain seqs. */
const SINGLE_ID_CODEC: Codec = new SseCodec((seq) => seq, true);
