/**
 * A WebSocket test client that queues frames so tests await them instead of sleeping.
 *
 * @module
 */
import { within } from "./teardown.ts";

/** How a socket closed. */
export interface Closed {
  code: number;
  reason: string;
}

/** Default time a test waits for an expected event. */
export const WAIT_MS = 5000;

/** A real WebSocket with a frame queue. Dispose it with `await using`. */
export class TestClient implements AsyncDisposable {
  readonly socket: WebSocket;
  /** Resolves once open; rejects if the socket closes first. */
  readonly opened: Promise<void>;
  /** Resolves when the socket closes. */
  readonly closed: Promise<Closed>;
  readonly #frames: string[] = [];
  #waiter: (() => void) | undefined;

  constructor(url: string, protocols?: string | string[]) {
    this.socket = new WebSocket(url, protocols);
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", (e) => {
        resolve({ code: e.code, reason: e.reason });
        this.#waiter?.();
      });
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve());
      this.closed.then((c) => reject(new Error(`Closed before open: ${c.code} ${c.reason}`)));
    });
    this.opened.catch(() => {});
    this.socket.addEventListener("message", (e) => {
      this.#frames.push(typeof e.data === "string" ? e.data : "<binary>");
      this.#waiter?.();
    });
  }

  /** Opens a client and waits until it is open. */
  static async open(url: string, protocols?: string | string[]): Promise<TestClient> {
    const client = new TestClient(url, protocols);
    await client.opened;
    return client;
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  /** The next text frame, waiting up to `ms`. */
  async next(ms = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    while (this.#frames.length === 0) {
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error("Socket closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No frame within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#frames.shift()!;
  }

  /** The next frame, parsed. */
  // deno-lint-ignore no-explicit-any
  async nextJson(ms = WAIT_MS): Promise<any> {
    return JSON.parse(await this.next(ms));
  }

  /** Sends a frame. */
  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  /** Waits for the close, up to `ms`. */
  async waitClosed(ms = WAIT_MS): Promise<Closed> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Not closed within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState === WebSocket.CONNECTING) await this.opened.catch(() => {});
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await within(`the socket to ${this.socket.url}`, this.closed);
  }
}
