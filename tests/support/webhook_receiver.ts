/**
 * A real webhook receiver on 127.0.0.1 and a free port: records every request and answers with
 * the status a test chooses per attempt, so retries and signatures are tested end to end.
 *
 * @module
 */
import { WAIT_MS } from "./client.ts";
import { waitFor } from "./wait.ts";
import { within } from "./teardown.ts";

/** One request as received. */
export interface Received {
  headers: Headers;
  body: string;
  /** Epoch ms of arrival. */
  at: number;
}

/** A running receiver. Dispose it with `await using`. */
export class WebhookReceiver implements AsyncDisposable {
  readonly requests: Received[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** The status to answer request number `n` (from 0) with. */
  #status: (n: number) => number;

  constructor(status: (n: number) => number = () => 200) {
    this.#status = status;
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.text();
      const n = this.requests.length;
      this.requests.push({ headers: req.headers, body, at: Date.now() });
      return new Response(null, { status: this.#status(n) });
    });
  }

  /** `http://127.0.0.1:<port>`: what WEBHOOK_ALLOWED_ORIGINS must name. */
  get origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Resolves once `n` requests arrived. */
  received(n: number, ms = WAIT_MS): Promise<void> {
    return waitFor(() => this.requests.length >= n, ms);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await within("the webhook receiver", this.#server.shutdown());
  }
}
