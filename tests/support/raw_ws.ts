/**
 * A WebSocket client over raw TCP, for what browsers never send: bad handshakes, fragments,
 * reserved bits, unmasked frames, and a peer that stops reading.
 *
 * @module
 */

/** One frame read from the server. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Frame options for {@linkcode RawSocket.writeFrame}. */
export interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
}

/** A raw connection that has completed (or failed) the opening handshake. */
export class RawSocket {
  readonly conn: Deno.Conn;
  /** HTTP status of the handshake response. */
  readonly status: number;
  /** The raw handshake response head. */
  readonly head: string;
  #buffer: Uint8Array;

  private constructor(conn: Deno.Conn, status: number, head: string, rest: Uint8Array) {
    this.conn = conn;
    this.status = status;
    this.head = head;
    this.#buffer = rest;
  }

  /** Connects and sends an upgrade request for `path`; `headers` override the defaults. */
  static async connect(
    port: number,
    path: string,
    headers: Record<string, string | undefined> = {},
  ): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    return await RawSocket.over(conn, path, { host: `127.0.0.1:${port}`, ...headers });
  }

  /** Sends an upgrade request for `path` on `conn` (plain or TLS) and reads the answer's head. */
  static async over(
    conn: Deno.Conn,
    path: string,
    headers: Record<string, string | undefined> = {},
  ): Promise<RawSocket> {
    const all: Record<string, string | undefined> = {
      host: "127.0.0.1",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...headers,
    };
    const lines = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) =>
      `${k}: ${v}`
    );
    await writeAll(
      conn,
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`),
    );
    let buffer: Uint8Array = new Uint8Array();
    for (;;) {
      const end = indexOfHeadEnd(buffer);
      if (end >= 0) {
        const head = new TextDecoder().decode(buffer.subarray(0, end));
        const status = Number(head.split(" ")[1]);
        return new RawSocket(conn, status, head, buffer.subarray(end + 4));
      }
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("Connection closed during handshake");
      buffer = concat(buffer, chunk.subarray(0, n));
    }
  }

  /** Writes one frame. Client frames are masked unless `mask: false`. */
  async writeFrame(
    opcode: number,
    payload: Uint8Array | string,
    options: FrameOptions = {},
  ): Promise<void> {
    const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    const { fin = true, rsv = 0, mask = true } = options;
    const header: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
    const maskBit = mask ? 0x80 : 0;
    if (data.length < 126) header.push(maskBit | data.length);
    else if (data.length < 65536) header.push(maskBit | 126, data.length >> 8, data.length & 0xff);
    else {
      header.push(maskBit | 127, 0, 0, 0, 0);
      header.push(
        (data.length >>> 24) & 0xff,
        (data.length >> 16) & 0xff,
        (data.length >> 8) & 0xff,
        data.length & 0xff,
      );
    }
    const key = mask ? crypto.getRandomValues(new Uint8Array(4)) : new Uint8Array();
    const body = new Uint8Array(data);
    if (mask) { for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!; }
    await writeAll(this.conn, concat(concat(new Uint8Array(header), key), body));
  }

  /** Reads the next frame, or `null` at end of stream. */
  async readFrame(): Promise<Frame | null> {
    for (;;) {
      const frame = parseFrame(this.#buffer);
      if (frame) {
        this.#buffer = this.#buffer.subarray(frame.size);
        return frame.frame;
      }
      const chunk = new Uint8Array(65536);
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        return null;
      }
      if (n === null) return null;
      this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
    }
  }

  /** Reads frames until a close frame and returns its code and reason (`null` if none came). */
  async readClose(): Promise<{ code: number; reason: string } | null> {
    for (;;) {
      const frame = await this.readFrame();
      if (frame === null) return null;
      if (frame.opcode === 0x8) {
        const view = new DataView(frame.payload.buffer, frame.payload.byteOffset);
        return {
          code: frame.payload.length >= 2 ? view.getUint16(0) : 1005,
          reason: new TextDecoder().decode(frame.payload.subarray(2)),
        };
      }
    }
  }

  /** Closes the TCP connection. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

function parseFrame(buf: Uint8Array): { frame: Frame; size: number } | null {
  if (buf.length < 2) return null;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = (buf[2]! << 8) | buf[3]!;
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(new DataView(buf.buffer, buf.byteOffset + 2).getBigUint64(0));
    off = 10;
  }
  if (buf.length < off + len) return null;
  return {
    frame: {
      fin: (buf[0]! & 0x80) !== 0,
      opcode: buf[0]! & 0x0f,
      payload: buf.slice(off, off + len),
    },
    size: off + len,
  };
}

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** `a` followed by `b`, in a new array. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
