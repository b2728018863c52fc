/**
 * A reverse proxy like those on plant and office networks that refuse WebSocket upgrades: it
 * answers every upgrade with 403 and passes everything else (streams included) to the server.
 *
 * @module
 */
import { within } from "./teardown.ts";

/** A running proxy in front of `upstream`. */
export class NoUpgradeProxy implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Upgrades refused so far. */
  refused = 0;
  /** While true, every request gets 503: the network path is down. */
  down = false;
  /** Ends every upstream request still open (event streams) when the proxy stops. */
  readonly #abort = new AbortController();
  /**
   * Its own connection pool to the server, closed with the proxy: on Deno 2.5 a pooled
   * connection that carried an aborted stream kept the server's shutdown waiting.
   */
  readonly #client = Deno.createHttpClient({});

  constructor(upstream: string) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      if (this.down) return new Response("Unreachable", { status: 503 });
      if (req.headers.has("upgrade")) {
        this.refused++;
        return new Response("WebSockets are blocked here", { status: 403 });
      }
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.delete("host");
      const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? null : await req.arrayBuffer(),
        redirect: "manual",
        signal: this.#abort.signal,
        client: this.#client,
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    });
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // A stream whose client left may not notice until something is written: end it here, or
    // shutdown() would wait for it.
    this.#abort.abort();
    await within("the upgrade-refusing proxy", this.#server.shutdown());
    this.#client.close();
  }
}
