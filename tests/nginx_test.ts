import { assert, assertEquals, assertLess } from "@std/assert";
import { NGINX, Nginx } from "./support/nginx.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { SseClient } from "./support/sse.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";
import { freePort } from "./support/ports.ts";

/** Reads from `conn` until the peer closes it; resolves with the milliseconds that took. */
async function untilClosed(conn: Deno.Conn, limitMs: number): Promise<number> {
  const started = Date.now();
  const buffer = new Uint8Array(64 * 1024);
  while (Date.now() - started < limitMs) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return Date.now() - started;
  }
  throw new Error(`Still open after ${limitMs} ms`);
}

Deno.test({
  name: "behind the shipped nginx: TLS and WebSockets pass, slowloris and non-readers are cut",
  ignore: NGINX === undefined,
  async fn() {
    // Big queues on the server side, so what cuts a client that doesn't read is nginx.
    await using server = await startServer({
      config: { trustedProxies: ["127.0.0.1"], slowConsumerBytes: 256 * 1024 * 1024 },
    });
    await using nginx = await Nginx.start(NGINX!, {
      upstream: server.port,
      set: { client_header_timeout: "2s", send_timeout: "2s", limit_conn: "alarmcast_addr 20" },
    });
    using client = nginx.client();
    const get = (path: string) => fetch(`${nginx.url}${path}`, { client });

    // A normal client: health, publish, and a WebSocket through TLS.
    const health = await get("/healthz");
    assertEquals([health.status, (await health.json()).status], [200, "ok"]);
    // /metrics (it names ids) only for the monitoring hosts listed: this one, not another.
    const metrics = await get("/metrics");
    assertEquals(metrics.status, 200);
    assert((await metrics.text()).includes("# TYPE alarmcast_"));
    {
      using other = nginx.client("127.0.0.2");
      const refused = await fetch(`${nginx.url}/metrics`, { client: other });
      await refused.body?.cancel();
      assertEquals(refused.status, 403);
    }
    const ws = await RawSocket.over(await nginx.connect(), "/websocket/normal");
    assertEquals(ws.status, 101);
    const published = await fetch(`${nginx.url}/api/alarms/normal`, {
      client,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ via: "nginx" }),
    });
    assertEquals(published.status, 202);
    await published.body?.cancel();
    const frame = await ws.readFrame();
    assertEquals(JSON.parse(new TextDecoder().decode(frame!.payload)).via, "nginx");
    // An event stream passes unbuffered: the alarm arrives while the response is still open.
    {
      await using stream = await SseClient.open(`${nginx.url}/events/normal?since=1`, {}, client);
      assertEquals(stream.response.status, 200);
      await server.post("/api/alarms/normal", { via: "nginx stream" });
      assertEquals((await stream.nextAlarm()).alarm.via, "nginx stream");
    }
    await waitFor(() => server.app.hub.countOf("normal") === 1); // the stream's connection is gone

    // Slowloris: a request head that never ends is cut after client_header_timeout.
    const slow = await nginx.connect();
    await slow.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    const slowloris = await untilClosed(slow, 10_000);
    slow.close();
    assertLess(slowloris, 4000);

    // A WebSocket client that never reads: nginx drops it once it makes no progress for
    // send_timeout, and the server's session goes with it.
    const stuck = await RawSocket.over(await nginx.connect(), "/websocket/stuck");
    assertEquals(stuck.status, 101);
    await waitFor(() => server.app.hub.countOf("stuck") === 1);
    const big = { text: "x".repeat(60_000) };
    const started = Date.now();
    for (let i = 0; i < 200 && server.app.hub.countOf("stuck") === 1; i++) {
      await server.post("/api/alarms/stuck", big);
    }
    await waitFor(
      () => server.app.hub.countOf("stuck") === 0 && server.app.hub.closing === 0,
      15_000,
    );
    const released = Date.now() - started;
    stuck.close();
    assertLess(released, 15_000);

    // Connections per address: past the limit, nginx refuses further requests.
    const held = await Promise.all(
      Array.from(
        { length: 19 },
        async () => RawSocket.over(await nginx.connect(), "/websocket/many"),
      ),
    );
    assert(held.every((socket) => socket.status === 101));
    const over = await RawSocket.over(await nginx.connect(), "/websocket/many");
    assertEquals(over.status, 429);
    over.close();
    for (const socket of held) socket.close();

    // Normal clients are still served.
    const after = await get("/healthz");
    assertEquals(after.status, 200);
    await after.body?.cancel();
    ws.close();
  },
});

Deno.test({
  name: "behind the shipped nginx: with no process up, clients get 502 and no token reaches a log",
  ignore: NGINX === undefined,
  async fn() {
    const legacyPort = freePort();
    await using nginx = await Nginx.start(NGINX!, { upstream: freePort(), legacyPort });
    using client = nginx.client();
    const token = "eyJhbGciOiJIUzI1NiJ9.not-a-real-token.sig";
    // The old pages' port, as the migration block serves it.
    const old = await fetch(`http://127.0.0.1:${legacyPort}/websocket/plant-3?token=${token}`);
    await old.body?.cancel();
    assertEquals(old.status, 502);
    const requests: [string, string][] = [
      [`/events/plant-3?token=${token}`, "GET"],
      [`/websocket/plant-3?since=4&token=${token}`, "GET"],
      [`/api/alarms/plant-3?token=${token}`, "POST"],
    ];
    for (const [path, method] of requests) {
      const res = await fetch(`${nginx.url}${path}`, {
        client,
        method,
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      await res.body?.cancel();
      assertEquals(res.status, 502, path);
    }
    // nginx writes a failed request's line whole in its error log; the shipped level keeps it out.
    for (const log of [nginx.accessLog, ...nginx.errorLogs]) {
      const text = await Deno.readTextFile(log).catch(() => "");
      assert(!text.includes("not-a-real-token"), `${log} holds the token:\n${text}`);
    }
  },
});

Deno.test({
  name:
    "behind the shipped nginx: a hung process costs one request its read timeout, then is left out",
  ignore: NGINX === undefined,
  async fn() {
    await using server = await startServer();
    // A process that accepts connections and never answers (stopped, or stuck).
    const hung = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of hung) held.push(conn);
    })();
    await using nginx = await Nginx.start(NGINX!, {
      upstream: [hung.addr.port, server.port],
      set: { proxy_read_timeout: "1s" },
    });
    using client = nginx.client();
    const started = Date.now();
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) {
      const res = await fetch(`${nginx.url}/api/alarms/hung`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": `hung-${n}` },
        body: JSON.stringify({ n }),
      });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    // Every publish stored once, by the live process; the hung one tried once, then left out.
    assertEquals(statuses, [202, 202, 202, 202, 202, 202]);
    assertLess(Date.now() - started, 1900);
    assertEquals(held.length, 1);
    const history = await (await fetch(`${server.http}/api/alarms/hung`)).json();
    assertEquals(history.alarms.map((a: { n: number }) => a.n), [0, 1, 2, 3, 4, 5]);
    hung.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  },
});
