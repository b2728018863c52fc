/**
 * A Server-Sent Events client for tests: `fetch` plus a parser that keeps every field, comments
 * included, so tests see exactly what went over the wire.
 *
 * @module
 */
import { WAIT_MS } from "./client.ts";
import { within } from "./teardown.ts";

/** One event as received. */
export interface SseEvent {
  /** The `id:` field, if the event had one. */
  id?: string;
  /** The `event:` field; absent for plain messages (alarms). */
  event?: string;
  /** The `data:` lines joined by newlines. */
  data: string;
  /** `retry:` advice, for a block that carried it. */
  retry?: number;
}

/** An open stream. */
export class SseClient implements AsyncDisposable {
  readonly response: Response;
  /** Events (and comment-only blocks as `{ data: "", comment }`) not yet taken. */
  readonly #events: (SseEvent & { comment?: string })[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #reading: Promise<void>;
  readonly #abort: AbortController;

  private constructor(response: Response, abort: AbortController) {
    this.response = response;
    this.#abort = abort;
    this.#reading = this.#read();
  }

  /** Opens `url`; a non-200 answer is returned as a client whose `response` tells why. */
  static async open(
    url: string,
    headers: Record<string, string> = {},
    client?: Deno.HttpClient,
  ): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, {
      headers,
      signal: abort.signal,
      ...(client ? { client } : {}),
    });
    return new SseClient(response, abort);
  }

  /** Whether the server ended the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The next block with an event or data (comments skipped unless `comments`). */
  async next(
    options: { comments?: boolean; ms?: number } = {},
  ): Promise<SseEvent & { comment?: string }> {
    const deadline = Date.now() + (options.ms ?? WAIT_MS);
    for (;;) {
      const index = this.#events.findIndex((e) => options.comments || e.comment === undefined);
      if (index >= 0) return this.#events.splice(index, 1)[0]!;
      if (this.#ended) throw new Error("The stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No event within ${options.ms ?? WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The next event that is an alarm (no `event:` field), parsed. */
  // deno-lint-ignore no-explicit-any
  async nextAlarm(): Promise<{ id?: string; alarm: any }> {
    for (;;) {
      const event = await this.next();
      if (event.event === undefined && event.retry === undefined) {
        return {
          ...(event.id === undefined ? {} : { id: event.id }),
          alarm: JSON.parse(event.data),
        };
      }
    }
  }

  /** Resolves once the server ended the stream. */
  async closed(ms = WAIT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#reading,
      new Promise((_, reject) => timer = setTimeout(() => reject(new Error("Still open")), ms)),
    ]).finally(() => clearTimeout(timer));
  }

  async #read(): Promise<void> {
    if (!this.response.body) {
      this.#ended = true;
      return;
    }
    let rest = "";
    try {
      for await (const chunk of this.response.body.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        let end: number;
        while ((end = rest.indexOf("\n\n")) >= 0) {
          this.#events.push(parseBlock(rest.slice(0, end)));
          rest = rest.slice(end + 2);
        }
        this.#wake?.();
      }
    } catch {
      // Aborted by us, or the connection was cut: either way the stream is over.
    }
    this.#ended = true;
    this.#wake?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#abort.abort();
    await within(`the event stream from ${this.response.url}`, this.#reading);
  }
}

function parseBlock(block: string): SseEvent & { comment?: string } {
  const event: SseEvent & { comment?: string } = { data: "" };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "") event.comment = value;
    else if (field === "id") event.id = value;
    else if (field === "event") event.event = value;
    else if (field === "data") data.push(value);
    else if (field === "retry") event.retry = Number(value);
  }
  event.data = data.join("\n");
  return event;
}
