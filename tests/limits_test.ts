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
  await waitFor(() => server.app.hub.registry.size === 2);
  const raw = await RawSocket.connect(server.port, "/websocket/a");
  assertEquals(raw.status, 429);
  raw.close();
  await using b = await TestClient.open(`${server.ws}/websocket/b`);
  await waitFor(() => server.app.hub.registry.size === 3);
  const full = await RawSocket.connect(server.port, "/websocket/c");
  assertEquals(full.status, 503);
  full.close();
  assertEquals(server.app.metrics.errorCount("too_many_sessions"), 1);
  assertEquals(server.app.metrics.errorCount("server_full"), 1);
  // Room again once one leaves.
  a1.socket.close();
  await waitFor(() => server.app.hub.registry.size === 2);
  const back = await RawSocket.connect(server.port, "/websocket/a");
  assertEquals(back.status, 101);
  back.close();
  assertEquals([a2.socket.readyState, b.socket.readyState], [WebSocket.OPEN, WebSocket.OPEN]);
});
