/**
 * A socket for unit tests of the realtime core: records what is sent and closed, and can play a
 * peer that stops reading.
 *
 * @module
 */
import type { PushSocket } from "../../lib/realtime/mod.ts";

/** Records what the registry does to a socket. */
export class FakeSocket implements PushSocket {
  readyState = 1;
  /** Times the registry read `bufferedAmount`. */
  bufferedReads = 0;
  #buffered = 0;
  /** Bytes added to `bufferedAmount` per send; 0 means the peer reads everything at once. */
  grow = 0;
  readonly sent: string[] = [];
  readonly closes: { code: number | undefined; reason: string | undefined }[] = [];

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("Not open");
    this.sent.push(data);
    this.#buffered += this.grow;
  }

  get bufferedAmount(): number {
    this.bufferedReads++;
    return this.#buffered;
  }

  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason });
    this.readyState = 2;
  }
}
