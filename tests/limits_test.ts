import { assertEquals, assertMatch } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("a socket over its message rate is closed with 1008; one within it is not", async () => {
  await using server = await startServer({ config: { messageRate: 2, messageBurst: 5 } });
  await using bystander = new LegacyPage(server.ws, ["r"], 60_000);
  await bystander.opened();
  await using polite = await TestClient.open(`${server.ws}/websocket/r`, "alarms.v1");
  await polite.next();
  // Five at once (the burst), then one a second for a while: all fine.
  for (let i = 0; i < 5; i++) polite.send(JSON.stringify({ type: "ping" }));
  for (let i = 0; i < 5; i++) assertEquals((await polite.nextJson()).type, "pong");
  for (let i = 0; i < 10; i++) {
    server.clock.advance(1000);
    polite.send(JSON.stringify({ type: "ping" }));
    assertEquals((await polite.nextJson()).type, "pong");
  }
  await using flood = await TestClient.open(`${server.ws}/websocket/r`);
  for (let i = 0; i < 6; i++) flood.send("PING");
  assertEquals(await flood.waitClosed(), { code: 1008, reason: "rate limit exceeded" });
  assertEquals(server.app.metrics.errorCount("rate_limited"), 1);
  assertEquals((await server.post("/api/alarms/r", {})).body.delivered, 2);
  await bystander.until(() => bystander.list.length === 1);
});

Deno.test("upgrades per client address per minute: 429 with Retry-After, then allowed again", async () => {
  await using server = await startServer({ config: { upgradesPerMinute: 3 } });
  for (let i = 0; i < 3; i++) {
    const ok = await RawSocket.connect(server.port, "/websocket/u");
    assertEquals(ok.status, 101);
    ok.close();
  }
  const refused = await RawSocket.connect(server.port, "/websocket/u");
  assertEquals(refused.status, 429);
  assertMatch(refused.head, /^retry-after: 60\r?$/im);
  refused.close();
  server.clock.advance(60_000);
  const again = await RawSocket.connect(server.port, "/websocket/u");
  assertEquals(again.status, 101);
  again.close();
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  assertMatch(metrics, /^alarmcast_errors_total\{kind="too_many_upgrades"\} 1$/m);
});

Deno.test("sessions per id and in total are capped, with a clear reason", async () => {
  await using server = await startServer({ config: { maxSessionsPerId: 2, maxSessions: 3 } });
  await using a1 = await TestClient.open(`${server.ws}/websocket/a`);
  await using a2 = await TestClient.open(`${server.ws}/websocket/a`);
  await waitFor(() => server.app.hub.size === 2);
  const raw = await RawSocket.connect(server.port, "/websocket/a");
  assertEquals(raw.status, 429);
  raw.close();
  await using b = await TestClient.open(`${server.ws}/websocket/b`);
  await waitFor(() => server.app.hub.size === 3);
  const full = await RawSocket.connect(server.port, "/websocket/c");
  assertEquals(full.status, 503);
  full.close();
  assertEquals(server.app.metrics.errorCount("too_many_sessions"), 1);
  assertEquals(server.app.metrics.errorCount("server_full"), 1);
  // Room again once one leaves.
  a1.socket.close();
  await waitFor(() => server.app.hub.size === 2);
  const back = await RawSocket.connect(server.port, "/websocket/a");
  assertEquals(back.status, 101);
  back.close();
  assertEquals([a2.socket.readyState, b.socket.readyState], [WebSocket.OPEN, WebSocket.OPEN]);
});

Deno.test("caps hold exactly under concurrent upgrades: per id and in total", async () => {
  await using server = await startServer({
    config: { maxSessionsPerId: 5, maxSessions: 30, upgradesPerMinute: 0 },
  });
  const race = async (paths: string[]) => {
    const sockets = await Promise.all(paths.map((path) => RawSocket.connect(server.port, path)));
    const statuses = sockets.map((socket) => socket.status);
    return { sockets, count: (status: number) => statuses.filter((s) => s === status).length };
  };
  const one = await race(Array.from({ length: 50 }, () => "/websocket/crowded"));
  assertEquals([one.count(101), one.count(429)], [5, 45]);
  const all = await race(Array.from({ length: 100 }, (_, i) => `/websocket/many-${i}`));
  assertEquals([all.count(101), all.count(503)], [25, 75]); // 5 places were taken above
  await waitFor(() => server.app.hub.size === 30);
  // Places come back as sockets go.
  for (const socket of [...one.sockets, ...all.sockets]) socket.close();
  await waitFor(() => server.app.hub.occupied === 0);
  const again = await race(Array.from({ length: 6 }, () => "/websocket/crowded"));
  assertEquals(again.count(101), 5);
  for (const socket of again.sockets) socket.close();
});

Deno.test("a socket the server closed holds its place until its connection is gone", async () => {
  await using server = await startServer({ config: { maxSessions: 2, upgradesPerMinute: 0 } });
  await using _normal = await TestClient.open(`${server.ws}/websocket/n`);
  // Gets closed by the server (a binary frame: 1003), and never answers the close.
  const silent = await RawSocket.connect(server.port, "/websocket/s");
  assertEquals(silent.status, 101);
  await silent.writeFrame(0x2, new Uint8Array([1, 2, 3]));
  assertEquals((await silent.readClose())?.code, 1003);
  await waitFor(() => server.app.hub.closing === 1);
  assertMatch(
    await (await fetch(`${server.http}/metrics`)).text(),
    /^alarmcast_sessions_closing 1$/m,
  );
  const refused = await RawSocket.connect(server.port, "/websocket/c");
  assertEquals(refused.status, 503); // open + closing = the cap
  refused.close();
  silent.close(); // the peer lets go: the place is free again
  await waitFor(() => server.app.hub.closing === 0);
  const admitted = await RawSocket.connect(server.port, "/websocket/c");
  assertEquals(admitted.status, 101);
  admitted.close();
});

Deno.test("behind a trusted proxy, the per-address limit counts the forwarded client", async () => {
  // Each case: a fresh server, whether it trusts 127.0.0.1, what each upgrade forwards, and the
  // answers (2 upgrades a minute per address).
  const cases: [boolean, string[], number[]][] = [
    [
      true,
      ["192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "spoof, 192.0.2.3"],
      [101, 101, 429, 101, 101],
    ],
    // A forwarded value that is no address counts as the proxy itself, not a bucket of its own.
    [true, ["garbage", "1.2.3.4:5555", "unknown", "[::1]", "1.2.3.4, "], [101, 101, 429, 429, 429]],
    // Not trusted: the header is ignored, and every upgrade comes from 127.0.0.1.
    [false, ["192.0.2.1", "192.0.2.2", "192.0.2.3"], [101, 101, 429]],
  ];
  for (const [trusted, clients, expected] of cases) {
    await using server = await startServer({
      config: { upgradesPerMinute: 2, trustedProxies: trusted ? ["127.0.0.1"] : [] },
    });
    const statuses = [];
    for (const client of clients) {
      const socket = await RawSocket.connect(server.port, "/websocket/p", {
        "x-forwarded-for": client,
      });
      socket.close();
      statuses.push(socket.status);
    }
    assertEquals(statuses, expected, clients.join(" | "));
  }
});

Deno.test("connections per client address are capped, counted per forwarded client behind a proxy", async () => {
  await using server = await startServer({
    config: { maxSessionsPerAddress: 3, upgradesPerMinute: 0, trustedProxies: ["127.0.0.1"] },
  });
  const open = (client: string) =>
    RawSocket.connect(server.port, "/websocket/a", { "x-forwarded-for": client });
  const first = await Promise.all([1, 2, 3, 4].map(() => open("192.0.2.1")));
  assertEquals(first.map((socket) => socket.status).sort(), [101, 101, 101, 429]);
  assertMatch(first.find((socket) => socket.status === 429)!.head, /^retry-after: 5\r?$/im);
  const other = await open("192.0.2.2");
  assertEquals(other.status, 101);
  for (const socket of [...first, other]) socket.close();
  await waitFor(() => server.app.hub.occupiedFrom("192.0.2.1") === 0);
  const again = await open("192.0.2.1");
  assertEquals(again.status, 101);
  again.close();
});

Deno.test("an upgrade refused after admission gives its place back", async () => {
  await using server = await startServer({
    config: { maxSessionsPerAddress: 2, upgradesPerMinute: 0 },
  });
  // Admitted (id, token, caps), then Deno refuses to upgrade: no "Connection: Upgrade".
  for (let i = 0; i < 5; i++) {
    await using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(new TextEncoder().encode(
      "GET /websocket/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: close\r\n\r\n",
    ));
    let answer = "";
    for await (const chunk of conn.readable) answer += new TextDecoder().decode(chunk);
    assertMatch(answer, /^HTTP\/1\.1 400 [\s\S]*"bad_handshake"/);
  }
  assertEquals(server.app.hub.occupiedFrom("127.0.0.1"), 0);
  // So the address still has both of its places.
  await using _one = await TestClient.open(`${server.ws}/websocket/a`);
  await using _two = await TestClient.open(`${server.ws}/websocket/b`);
  assertEquals(server.app.hub.occupiedFrom("127.0.0.1"), 2);
});
