import { assertEquals, assertMatch } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("sessions API lists who is online, per id, with protocol and times", async () => {
  await using server = await startServer();
  await using page = new LegacyPage(server.ws, ["b", "a"], 1000);
  await page.opened();
  await using v1 = await TestClient.open(`${server.ws}/websocket/a`, "alarms.v1");
  await v1.next();
  const all = await server.get("/api/sessions");
  assertEquals(all.status, 200);
  assertEquals([all.body.sessions, all.body.ids], [3, 2]);
  assertEquals(all.body.byId.map((e: { id: string; count: number }) => [e.id, e.count]), [
    ["a", 2],
    ["b", 1],
  ]);
  const a = await server.get("/api/sessions/a");
  assertEquals(a.body.id, "a");
  assertEquals(a.body.sessions.map((s: { protocol: string }) => s.protocol).sort(), [
    "alarms.v1",
    "legacy",
  ]);
  for (const session of a.body.sessions) {
    assertMatch(session.sessionId, /^[0-9a-f-]{36}$/);
    assertEquals([session.id, session.connectedAt, session.lastHeartbeat, session.ackedSeq], [
      "a",
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
      0,
    ]);
  }
  // Old pages can't acknowledge: an id only they watch reports no backlog, however much arrives.
  assertEquals([a.body.count, a.body.seq, a.body.acked, a.body.unacknowledged], [2, 0, 0, null]);
  for (let i = 0; i < 3; i++) await server.post("/api/alarms/a", { message: `m${i}` });
  const after = await server.get("/api/sessions/a");
  assertEquals([after.body.seq, after.body.acked, after.body.unacknowledged], [3, 0, null]);
  assertEquals((await server.get("/api/sessions/nobody")).body, {
    id: "nobody",
    count: 0,
    sessions: [],
    seq: 0,
    acked: 0,
    unacknowledged: null,
  });
  assertEquals((await server.get("/api/sessions/bad%20id")).status, 400);
});

Deno.test("several-id publish and broadcast reach exactly the right sessions", async () => {
  await using server = await startServer();
  await using page = new LegacyPage(server.ws, ["a", "b", "c"], 1000);
  await page.opened();
  await using v1 = await TestClient.open(`${server.ws}/websocket/b`, "alarms.v1");
  await v1.next();
  const many = await server.post("/api/alarms", {
    targets: ["a", "b", "offline"],
    alarm: { msg: "some" },
  });
  assertEquals(many.status, 202);
  assertEquals(many.body.alarms.map((a: { delivered: number }) => a.delivered), [1, 2, 0]);
  assertEquals(many.body.delivered, 3);
  const all = await server.post("/api/broadcast", { msg: "everyone" });
  assertEquals(
    all.body.alarms.map((a: { target: string; seq: number }) => [a.target, a.seq]).sort(),
    [["a", 2], ["b", 2], ["c", 1]],
  );
  assertEquals(all.body.delivered, 4);
  await page.until(() => page.list.length === 5);
  assertEquals(page.list.filter((a) => a.msg === "everyone").map((a) => a.target).sort(), [
    "a",
    "b",
    "c",
  ]);
  assertEquals(page.problems, []);
  assertEquals((await v1.nextJson()).alarm.msg, "some");
  assertEquals((await v1.nextJson()).alarm, {
    msg: "everyone",
    id: all.body.alarms[0].id,
    createTime: "2026-01-01T00:00:00.000Z",
    seq: 2,
    target: "b",
  });
});

Deno.test("a raw handshake Deno would accept is refused with 400 on the wire", async () => {
  await using server = await startServer();
  for (
    const headers of [{ "sec-websocket-version": "8" }, { "sec-websocket-key": "not-a-key" }, {
      "sec-websocket-key": undefined,
    }]
  ) {
    const raw = await RawSocket.connect(server.port, "/websocket/x", headers);
    assertEquals(raw.status, 400);
    raw.close();
  }
  const ok = await RawSocket.connect(server.port, "/websocket/x");
  assertEquals(ok.status, 101);
  assertMatch(ok.head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  await waitFor(() => server.app.hub.size === 1);
  ok.close();
  await waitFor(() => server.app.hub.size === 0);
  assertEquals(server.app.metrics.sessionsOpened, 1);
});

Deno.test("unacknowledged counts alarms, not operators' actions on conditions", async () => {
  await using server = await startServer();
  await using v1 = await TestClient.open(`${server.ws}/websocket/plant`, "alarms.v1");
  await v1.next(); // welcome
  await server.post("/api/alarms/plant", { msg: "plain" });
  await server.post("/api/alarms/plant", { msg: "keyed", key: "boiler" });
  await v1.next();
  await v1.next();
  v1.send(JSON.stringify({ type: "ack", seq: 2 }));
  await waitFor(async () => (await server.get("/api/sessions/plant")).body.acked === 2);
  const act = (action: string, body: unknown = {}) =>
    server.post(`/api/conditions/plant/boiler/${action}`, body);
  assertEquals((await act("acknowledge")).status, 200);
  assertEquals((await act("shelve", { reason: "repair", durationSeconds: 60 })).status, 200);
  assertEquals((await act("unshelve")).status, 200);
  const status = async () => {
    const { body } = await server.get("/api/sessions/plant");
    return [body.seq, body.acked, body.unacknowledged];
  };
  assertEquals(await status(), [5, 2, 0]);
  await server.post("/api/alarms/plant", { msg: "new" });
  await server.post("/api/alarms/plant", { msg: "repeat", key: "boiler" });
  assertEquals(await status(), [7, 2, 2]);
});
