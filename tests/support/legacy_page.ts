/**
 * A client that behaves exactly like the old Vue page: plain `new WebSocket` without
 * subprotocol, one per id, the text `PING` on a timer, `JSON.parse` on every frame, and a list
 * sorted by `createTime`, newest first. Anything it could not use is recorded as a problem.
 *
 * @module
 */
import { WAIT_MS } from "./client.ts";
import { within } from "./teardown.ts";

/** What the old page keeps of an alarm. */
export interface PageAlarm {
  id: string | number;
  seq: number;
  target: string;
  createTime: string | number;
  [field: string]: unknown;
}

/** The old page, with `ids` open at once. Dispose it with `await using`. */
export class LegacyPage implements AsyncDisposable {
  /** Alarms, newest `createTime` first, as the page lists them. */
  readonly list: PageAlarm[] = [];
  /** Frames the page could not parse, or that were not alarms. Must stay empty. */
  readonly problems: string[] = [];
  /** `PING`s sent. */
  pings = 0;
  readonly #sockets: WebSocket[] = [];
  readonly #closed: Promise<void>[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #onChange: (() => void) | undefined;

  /**
   * Opens `ids` on `wsBase`; `client` (Deno 2.9) for a `wss://` base with a test CA, or another
   * client address. The page itself has no such option: it is the browser's.
   */
  constructor(wsBase: string, ids: string[], pingMs: number, client?: Deno.HttpClient) {
    for (const id of ids) {
      const url = `${wsBase}/websocket/${id}`;
      const socket = client ? new WebSocket(url, { client }) : new WebSocket(url);
      this.#closed.push(
        new Promise((resolve) => socket.addEventListener("close", () => resolve())),
      );
      socket.onmessage = (e) => this.#onMessage(e.data);
      this.#sockets.push(socket);
    }
    this.#timer = setInterval(() => {
      for (const socket of this.#sockets) {
        if (socket.readyState === WebSocket.OPEN) {
          socket.send("PING");
          this.pings++;
        }
      }
      this.#onChange?.();
    }, pingMs);
  }

  /** Resolves when every socket is open. */
  async opened(): Promise<void> {
    await Promise.all(
      this.#sockets.map((socket) =>
        socket.readyState === WebSocket.OPEN ? undefined : new Promise<void>((resolve, reject) => {
          socket.addEventListener("open", () => resolve());
          socket.addEventListener("close", () => reject(new Error("Closed before open")));
        })
      ),
    );
  }

  /** Waits until `predicate` holds, re-checked on every frame and ping. */
  async until(predicate: () => boolean, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Condition not met within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#onChange = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #onMessage(data: unknown): void {
    try {
      // Exactly what the old page does with every frame.
      const alarm = JSON.parse(String(data));
      if (!isAlarm(alarm)) this.problems.push(`not an alarm: ${String(data).slice(0, 200)}`);
      else {
        this.list.push(alarm);
        this.list.sort((a, b) =>
          Date.parse(String(b.createTime)) - Date.parse(String(a.createTime))
        );
      }
    } catch (error) {
      this.problems.push(`JSON.parse failed: ${error}`);
    }
    this.#onChange?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    for (const socket of this.#sockets) socket.close();
    await within("the old page's sockets", Promise.all(this.#closed));
  }
}

function isAlarm(value: unknown): value is PageAlarm {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (typeof v.id === "string" || typeof v.id === "number") &&
    typeof v.seq === "number" && typeof v.target === "string" &&
    (typeof v.createTime === "string" || typeof v.createTime === "number") &&
    !("type" in v && "alarm" in v);
}
