import { assert, assertEquals, assertMatch } from "@std/assert";
import { MAX_STRIKES } from "../lib/realtime/inbound.ts";
import { SseClient } from "./support/sse.ts";
import { TestClient } from "./support/client.ts";
import { FaultyKv } from "./support/faulty_kv.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

async function openV1(server: TestServer, id: string): Promise<TestClient> {
  const client = await TestClient.open(`${server.ws}/websocket/${id}`, "alarms.v1");
  assertEquals(client.socket.protocol, "alarms.v1");
  const welcome = await client.nextJson();
  assertEquals(welcome.type, "welcome");
  assertEquals(welcome.id, id);
  return client;
}

Deno.test("v1: welcome, nested alarm, pong for ping and PING", async () => {
  await using server = await startServer({
    config: { heartbeatTimeoutMs: 60_000, messageRate: 5, messageBurst: 12 },
  });
  await using client = await TestClient.open(`${server.ws}/websocket/dev-1`, ["alarms.v1"]);
  const welcome = await client.nextJson();
  assertEquals(welcome, {
    type: "welcome",
    sessionId: welcome.sessionId,
    id: "dev-1",
    instance: server.app.hub.instance,
    seq: 0,
    serverTime: "2026-01-01T00:00:00.000Z",
    heartbeatInterval: 20_000,
    messageRate: 5,
    messageBurst: 12,
  });
  assertMatch(welcome.sessionId, /^[0-9a-f-]{36}$/);

  // Publisher fields named like envelope fields stay inside the alarm.
  const posted = await server.post("/api/alarms/dev-1", { type: "fire", alarm: "x", level: 3 });
  assertEquals(posted.body.delivered, 1);
  assertEquals(await client.nextJson(), {
    type: "alarm",
    alarm: {
      type: "fire",
      alarm: "x",
      level: 3,
      id: posted.body.id,
      createTime: "2026-01-01T00:00:00.000Z",
      seq: 1,
      target: "dev-1",
    },
  });

  client.send(JSON.stringify({ type: "ping" }));
  assertEquals(await client.nextJson(), { type: "pong", serverTime: "2026-01-01T00:00:00.000Z" });
  server.clock.advance(1500);
  client.send("PING");
  assertEquals(await client.nextJson(), { type: "pong", serverTime: "2026-01-01T00:00:01.500Z" });
});

Deno.test("v1: the welcome tells the id's head; a client that saw nothing resumes from it", async () => {
  await using server = await startServer();
  for (let i = 0; i < 3; i++) await server.post("/api/alarms/h", { i });
  await using first = await openV1(server, "h");
  await server.post("/api/alarms/h", { i: 3 });
  assertEquals((await first.nextJson()).alarm.seq, 4); // live from the head it was told (3)
  const again = await TestClient.open(`${server.ws}/websocket/h`, "alarms.v1");
  assertEquals((await again.nextJson()).seq, 4);
  await again[Symbol.asyncDispose]();
  // Published while that client was away: resuming from the welcome's seq gets it.
  await server.post("/api/alarms/h", { i: 4 });
  await using resumed = await TestClient.open(`${server.ws}/websocket/h?since=4`, "alarms.v1");
  assertEquals((await resumed.nextJson()).seq, 5);
  assertEquals((await resumed.nextJson()).alarm.seq, 5);
});

Deno.test("v1: send routes to every v1 session of another id, never to legacy sockets", async () => {
  await using server = await startServer();
  await using sender = await openV1(server, "operator");
  await using senderTab2 = await openV1(server, "operator");
  await using tab1 = await openV1(server, "panel");
  await using tab2 = await openV1(server, "panel");
  await using legacy = new LegacyPage(server.ws, ["panel"], 1000);
  await legacy.opened();

  sender.send(JSON.stringify({ type: "send", to: "panel", data: { text: "hello", n: [1, 2] } }));
  const expected = { type: "message", from: "operator", data: { text: "hello", n: [1, 2] } };
  assertEquals(await tab1.nextJson(), expected);
  assertEquals(await tab2.nextJson(), expected);

  // Sending to one's own id reaches the other tabs of that id, not the sender.
  sender.send(JSON.stringify({ type: "send", to: "operator", data: null }));
  assertEquals(await senderTab2.nextJson(), { type: "message", from: "operator", data: null });

  // Then an alarm: it is the first thing the legacy page and the sender see.
  await server.post("/api/alarms/panel", { msg: "after" });
  await legacy.until(() => legacy.list.length === 1);
  assertEquals(legacy.problems, []);
  assertEquals((await tab1.nextJson()).type, "alarm");
  await server.post("/api/alarms/operator", { msg: "own" });
  assertEquals((await sender.nextJson()).alarm.msg, "own");
});

Deno.test("v1: acks are validated and recorded; the sessions API shows what is unacknowledged", async () => {
  await using server = await startServer();
  await using client = await openV1(server, "acker");
  for (let i = 1; i <= 7; i++) await server.post("/api/alarms/acker", { i });
  for (let i = 1; i <= 7; i++) assertEquals((await client.nextJson()).alarm.seq, i);
  client.send(JSON.stringify({ type: "ack", seq: 0 }));
  assertEquals(await client.nextJson(), {
    type: "error",
    code: "invalid_message",
    message: 'Field "seq" must be a positive integer',
  });
  client.send(JSON.stringify({ type: "ack", seq: 8 }));
  assertEquals(await client.nextJson(), {
    type: "error",
    code: "invalid_ack",
    message: "Cannot acknowledge seq 8: the session has received up to 7",
  });
  client.send(JSON.stringify({ type: "ack", seq: 5 }));
  client.send(JSON.stringify({ type: "ack", seq: 3 })); // lower: changes nothing
  client.send(JSON.stringify({ type: "ping" }));
  assertEquals((await client.nextJson()).type, "pong");
  // The id-level ack is written to KV in the background.
  await waitFor(async () => (await server.get("/api/sessions/acker")).body.acked === 5);
  const sessions = await server.get("/api/sessions/acker");
  assertEquals(sessions.body.sessions[0].ackedSeq, 5);
  assertEquals([sessions.body.seq, sessions.body.acked, sessions.body.unacknowledged], [7, 5, 2]);
  // A client connecting later is told how far the id is acknowledged; one with none, nothing.
  await using later = await TestClient.open(`${server.ws}/websocket/acker`, "alarms.v1");
  const welcome = await later.nextJson();
  assertEquals([welcome.type, welcome.acked], ["welcome", 5]);
  await using events = await SseClient.open(`${server.http}/events/acker`);
  await events.next(); // retry advice
  assertEquals(JSON.parse((await events.next()).data).acked, 5);
  await using fresh = await TestClient.open(`${server.ws}/websocket/never-acked`, "alarms.v1");
  assertEquals("acked" in await fresh.nextJson(), false);
});

Deno.test("v1: invalid messages get error frames, then 1008 when they keep coming", async () => {
  await using server = await startServer();
  await using client = await openV1(server, "noisy");
  const cases: [string, string][] = [
    ["{not json", "invalid_json"],
    ["[1,2]", "invalid_message"],
    [JSON.stringify({ type: "dance" }), "unknown_type"],
    [JSON.stringify({ type: "send", to: "bad id!", data: 1 }), "invalid_message"],
  ];
  for (const [text, code] of cases) {
    client.send(text);
    const reply = await client.nextJson();
    assertEquals([reply.type, reply.code], ["error", code]);
  }
  // A valid message resets the count.
  client.send(JSON.stringify({ type: "ping" }));
  assertEquals((await client.nextJson()).type, "pong");
  for (let i = 1; i < MAX_STRIKES; i++) {
    client.send("nope");
    assertEquals((await client.nextJson()).code, "invalid_json");
  }
  client.send(JSON.stringify({ type: "dance", ref: "last" }));
  const last = await client.nextJson();
  assertEquals([last.type, last.code, last.ref], ["error", "unknown_type", "last"]);
  assertEquals(await client.waitClosed(), { code: 1008, reason: "too many invalid messages" });
  assertEquals(server.app.metrics.errorCount("invalid_message"), 4 + MAX_STRIKES);
  assertEquals(server.app.hub.size, 0);
});

Deno.test("v1: a deeply nested message is refused without parsing", async () => {
  await using server = await startServer();
  await using client = await openV1(server, "deep");
  client.send(
    JSON.stringify({ type: "send", to: "x", data: {} }).replace(
      "{}",
      "[".repeat(5000) + "]".repeat(5000),
    ),
  );
  const reply = await client.nextJson();
  assertEquals([reply.type, reply.code], ["error", "json_too_deep"]);
  assert(client.socket.readyState === WebSocket.OPEN);
});

Deno.test("v1: frames sent before the welcome are answered after it, in order", async () => {
  using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using server = await startServer({ kv });
  kv.hung = true; // the join waits on the store: the welcome can't go out yet
  await using client = await TestClient.open(`${server.ws}/websocket/early`, "alarms.v1");
  client.send(JSON.stringify({ type: "ping" }));
  client.send(JSON.stringify({ type: "acknowledge", key: "nope" }));
  client.send("not json");
  await waitFor(() => server.app.metrics.framesIn === 3);
  kv.release();
  const types = [];
  for (let i = 0; i < 4; i++) {
    const frame = await client.nextJson();
    types.push(frame.type === "error" ? `error ${frame.code}` : frame.type);
  }
  // The store-free answers (pong, invalid_json) wait for the welcome too, and keep their order.
  assertEquals(types.slice(0, 2), ["welcome", "pong"]);
  assertEquals(types.slice(2).sort(), ["error invalid_json", "error unknown_condition"]);
  await kv.idle();
});

Deno.test("v1: a message with a ref gets one reply carrying it: pong, ok or error", async () => {
  await using server = await startServer();
  await using client = await openV1(server, "reffed");
  await using other = await openV1(server, "other");
  assertEquals((await server.post("/api/alarms/reffed", { key: "k", level: "high" })).status, 202);
  const raised = await client.nextJson();
  assertEquals([raised.type, raised.alarm.seq], ["alarm", 1]);
  const replies = new Map<string | number, Record<string, unknown>>();
  const transitions: Record<string, unknown>[] = [];
  // Frames other than replies (the acknowledgement's transition) may come between them.
  const collect = async (count: number) => {
    while (replies.size < count) {
      const frame = await client.nextJson();
      if ("ref" in frame) {
        assert(!replies.has(frame.ref), `one reply per ref: ${JSON.stringify(frame)}`);
        replies.set(frame.ref, frame);
      } else transitions.push(frame);
    }
  };
  client.send(JSON.stringify({ type: "ping", ref: 1 }));
  client.send(JSON.stringify({ type: "ack", seq: 1, ref: "ack-1" }));
  client.send(JSON.stringify({ type: "ack", seq: 9, ref: "ack-9" }));
  client.send(JSON.stringify({ type: "send", to: "other", data: { hi: 1 }, ref: "send" }));
  // Two acknowledgements of one condition: one is carried out, the other meets its new state.
  client.send(JSON.stringify({ type: "acknowledge", key: "k", ref: "first" }));
  client.send(JSON.stringify({ type: "acknowledge", key: "k", ref: "second" }));
  client.send(JSON.stringify({ type: "acknowledge", key: "nope", ref: 404 }));
  client.send(JSON.stringify({ type: "dance", ref: "bad" }));
  await collect(8);
  assertEquals(replies.get(1)?.type, "pong");
  assertEquals(replies.get("ack-1"), { type: "ok", ref: "ack-1" });
  assertEquals(
    [replies.get("ack-9")?.type, replies.get("ack-9")?.code],
    ["error", "invalid_ack"],
  );
  assertEquals(replies.get("send"), { type: "ok", ref: "send" });
  assertEquals(await other.nextJson(), { type: "message", from: "reffed", data: { hi: 1 } });
  const outcomes = ["first", "second"].map((ref) =>
    replies.get(ref)?.code ?? replies.get(ref)?.type
  )
    .sort();
  assertEquals(outcomes, ["not_unacknowledged", "ok"]);
  assertEquals([replies.get(404)?.type, replies.get(404)?.code], ["error", "unknown_condition"]);
  assertEquals([replies.get("bad")?.type, replies.get("bad")?.code], ["error", "unknown_type"]);
  // The acknowledgement reaches the id's sessions as a transition, with no ref.
  while (transitions.length === 0) transitions.push(await client.nextJson());
  assertEquals(transitions.map((t) => t.type), ["transition"]);
  // Without a ref nothing more is answered than before: no `ok`.
  client.send(JSON.stringify({ type: "ack", seq: 1 }));
  client.send(JSON.stringify({ type: "ping" }));
  assertEquals(Object.keys(await client.nextJson()).sort(), ["serverTime", "type"]);
});
