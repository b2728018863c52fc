import { assertEquals, assertMatch } from "@std/assert";
import { TokenKeys } from "../lib/core/mod.ts";
import { TestClient } from "./support/client.ts";
import { startServer } from "./support/server.ts";
import { SseClient } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";

const SECRET = "sse-test-secret-0123456789abcdefghij";
const KEY = "sse-test-api-key-0123456789";

Deno.test("sse: retry advice, a welcome at the head, then each alarm as the WebSocket sends it", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/a", { n: 1 });
  await using legacy = await TestClient.open(`${server.ws}/websocket/a`);
  await using stream = await SseClient.open(`${server.http}/events/a`);
  assertEquals(stream.response.status, 200);
  assertEquals(stream.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assertEquals(stream.response.headers.get("cache-control"), "no-store");
  assertEquals(stream.response.headers.get("x-accel-buffering"), "no");
  assertEquals((await stream.next()).retry, 2000);
  const welcome = await stream.next();
  assertEquals([welcome.event, welcome.id], ["welcome", "1"]);
  const greeting = JSON.parse(welcome.data);
  assertEquals([greeting.id, greeting.seq], ["a", 1]);
  assertMatch(greeting.sessionId, /^[0-9a-f-]{36}$/);
  await waitFor(() => server.app.hub.countOf("a") === 2);
  await server.post("/api/alarms/a", { n: 2, level: "critical" });
  const event = await stream.next();
  assertEquals([event.id, event.event], ["2", undefined]);
  // Byte for byte the frame the old page gets.
  assertEquals(event.data, await legacy.next());
  const sessions = await server.get("/api/sessions/a");
  assertEquals(
    sessions.body.sessions.map((s: { protocol: string }) => s.protocol).sort(),
    ["legacy", "sse"],
  );
});

Deno.test("sse: Last-Event-ID and ?since resume with no gap and no duplicate; Last-Event-ID wins", async () => {
  await using server = await startServer();
  for (let n = 1; n <= 5; n++) await server.post("/api/alarms/r", { n });
  {
    await using stream = await SseClient.open(`${server.http}/events/r?since=2`);
    await stream.next(); // retry
    const welcome = await stream.next();
    // The welcome's id is where the stream starts, so a reconnect now resumes there.
    assertEquals([welcome.event, welcome.id], ["welcome", "2"]);
    assertEquals(
      [(await stream.nextAlarm()).id, (await stream.nextAlarm()).id, (await stream.nextAlarm()).id],
      ["3", "4", "5"],
    );
  }
  await using resumed = await SseClient.open(`${server.http}/events/r?since=1`, {
    "last-event-id": "4",
  });
  await server.post("/api/alarms/r", { n: 6 });
  const seqs = [(await resumed.nextAlarm()).alarm.seq, (await resumed.nextAlarm()).alarm.seq];
  assertEquals(seqs, [5, 6]);
});

Deno.test("sse: a cursor older than retention gets a gap event, then what exists", async () => {
  await using server = await startServer({ retention: { count: 3, ageMs: 60_000 } });
  for (let n = 1; n <= 6; n++) await server.post("/api/alarms/g", { n });
  await using stream = await SseClient.open(`${server.http}/events/g?since=1`);
  await stream.next(); // retry
  assertEquals((await stream.next()).event, "welcome");
  const gap = await stream.next();
  assertEquals(gap.event, "gap");
  assertEquals(JSON.parse(gap.data), { id: "g", since: 1, firstAvailable: 4 });
  assertEquals(
    [(await stream.nextAlarm()).id, (await stream.nextAlarm()).id, (await stream.nextAlarm()).id],
    ["4", "5", "6"],
  );
});

Deno.test("sse: an empty Last-Event-ID names no event, so ?since= decides", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/e", { n: 1 });
  await server.post("/api/alarms/f", { n: 1 });
  await using one = await SseClient.open(`${server.http}/events/e?since=0`, {
    "last-event-id": "",
  });
  assertEquals((await one.nextAlarm()).id, "1");
  await using both = await SseClient.open(
    `${server.http}/events?id=e&id=f&since=${encodeURIComponent("e=1,f=0")}`,
    { "last-event-id": "" },
  );
  assertEquals((await both.nextAlarm()).id, "e=1,f=1");
});

Deno.test("sse: one stream of several ids numbers events with every id's cursor and resumes from it", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/x", { n: 1 });
  let last: string;
  {
    await using stream = await SseClient.open(`${server.http}/events?id=x&id=y`);
    await waitFor(() => server.app.hub.countOf("x") === 1 && server.app.hub.countOf("y") === 1);
    await server.post("/api/alarms/y", { n: 1 });
    await server.post("/api/alarms/x", { n: 2 });
    const first = await stream.nextAlarm();
    const second = await stream.nextAlarm();
    assertEquals([first.alarm.target, first.id], ["y", "x=1,y=1"]);
    assertEquals([second.alarm.target, second.id], ["x", "x=2,y=1"]);
    last = second.id!;
  }
  // Published while away, to both ids; the cursor brings back each one's position.
  await server.post("/api/alarms/x", { n: 3 });
  await server.post("/api/alarms/y", { n: 2 });
  await using resumed = await SseClient.open(`${server.http}/events?id=x&id=y`, {
    "last-event-id": last,
  });
  const got = [await resumed.nextAlarm(), await resumed.nextAlarm()]
    .map((e) => `${e.alarm.target}${e.alarm.seq}`).sort();
  assertEquals(got, ["x3", "y2"]);
  // The same cursor works as ?since= (what a client without Last-Event-ID passes).
  await using again = await SseClient.open(
    `${server.http}/events?id=x&id=y&since=${encodeURIComponent("x=2,y=2")}`,
  );
  assertEquals((await again.nextAlarm()).id, "x=3,y=2");
});

Deno.test("sse: bad input gets a clear 400/404/405 and opens nothing", async () => {
  await using server = await startServer();
  const cases: [string, number, string, Record<string, string>?][] = [
    ["/events/bad%20id", 400, "invalid_id"],
    ["/events/a?since=-1", 400, "invalid_cursor"],
    ["/events/a?since=1&since=2", 400, "invalid_parameter"],
    ["/events?id=a&since=a=1&since=a=2", 400, "invalid_parameter"],
    ["/events/a?since=1.5", 400, "invalid_cursor"],
    ["/events/a", 400, "invalid_cursor", { "last-event-id": "x=1" }],
    ["/events", 400, "invalid_parameter"],
    ["/events?id=a&id=a", 400, "invalid_parameter"],
    ["/events?id=a&id=b%20c", 400, "invalid_id"],
    [
      `/events?${Array.from({ length: 33 }, (_, i) => `id=i${i}`).join("&")}`,
      400,
      "invalid_parameter",
    ],
    ["/events?id=a&since=b", 400, "invalid_cursor"],
    ["/events?id=a&since=a=1.5", 400, "invalid_cursor"],
    ["/events?id=a&since=a=9007199254740992", 400, "invalid_cursor"],
    ["/events/a?since=9007199254740992", 400, "invalid_cursor"],
    ["/events?id=a", 400, "invalid_cursor", { "last-event-id": "7" }],
    // Empty: refused on both forms alike (it once meant "from now" on the multi-id one).
    ["/events/a?since=", 400, "invalid_cursor"],
    ["/events?id=a&since=", 400, "invalid_cursor"],
    ["/events?id=a&id=b&since=", 400, "invalid_cursor"],
    ["/events/a/b", 404, "not_found"],
  ];
  for (const [path, status, code, headers] of cases) {
    const reply = await server.get(path, headers);
    assertEquals([reply.status, reply.body.error?.code], [status, code], path);
  }
  const post = await server.post("/events/a", {});
  assertEquals([post.status, post.headers.get("allow")], [405, "GET, OPTIONS"]);
  assertEquals(server.app.hub.size, 0);
  assertEquals(server.app.hub.occupied, 0);
});

Deno.test("sse: tokens and origins are checked like sockets', for every id of a stream", async () => {
  await using server = await startServer({
    config: { tokenSecrets: [SECRET], allowedOrigins: ["https://ops.example.com"] },
  });
  const keys = new TokenKeys([SECRET]);
  const token = (sub: string) => keys.sign(sub, server.clock.time + 60_000);
  const status = async (path: string, headers?: Record<string, string>) => {
    const reply = await server.get(path, headers);
    return `${reply.status} ${reply.body.error?.code}`;
  };
  assertEquals(await status("/events/p1"), "401 token_required");
  assertEquals(await status(`/events/p1?token=${await token("p2")}`), "403 forbidden");
  assertEquals(await status(`/events?id=p1&id=p2&token=${await token("p1")}`), "403 forbidden");
  assertEquals(
    await status(`/events/p1?token=${await token("p1")}`, { origin: "https://evil.example" }),
    "403 origin_not_allowed",
  );
  await using ok = await SseClient.open(
    `${server.http}/events?id=p1&id=p2&token=${await token("p*")}`,
    {
      origin: "https://ops.example.com",
    },
  );
  assertEquals(ok.response.status, 200);
  assertEquals(ok.response.headers.get("access-control-allow-origin"), "https://ops.example.com");
  const preflight = await fetch(`${server.http}/api/acks/p1`, {
    method: "OPTIONS",
    headers: { origin: "https://ops.example.com", "access-control-request-method": "POST" },
  });
  assertEquals(preflight.status, 204);
  assertEquals(preflight.headers.get("access-control-allow-origin"), "https://ops.example.com");
  assertMatch(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
  const refused = await fetch(`${server.http}/api/acks/p1`, {
    method: "OPTIONS",
    headers: { origin: "https://evil.example" },
  });
  assertEquals(refused.status, 403);
  await refused.body?.cancel();
});

Deno.test("sse: a stream takes a place per id under the caps, and gives them back when it ends", async () => {
  await using server = await startServer({ config: { maxSessionsPerId: 2, maxSessions: 4 } });
  const a = await SseClient.open(`${server.http}/events?id=c1&id=c2`);
  const b = await SseClient.open(`${server.http}/events/c1`);
  assertEquals([a.response.status, b.response.status], [200, 200]);
  const perId = await server.get("/events/c1");
  assertEquals([perId.status, perId.body.error.code], [429, "too_many_sessions"]);
  const full = await server.get("/events?id=c3&id=c4");
  assertEquals([full.status, full.body.error.code], [503, "server_full"]);
  assertEquals(server.app.hub.occupied, 3);
  await a[Symbol.asyncDispose]();
  await b[Symbol.asyncDispose]();
  await waitFor(() => server.app.hub.occupied === 0 && server.app.hub.size === 0);
  await using c = await SseClient.open(`${server.http}/events/c1`);
  assertEquals(c.response.status, 200);
});

Deno.test("sse: a silent stream gets a comment heartbeat; a stream ends with a close event on restart", async () => {
  await using server = await startServer();
  await using stream = await SseClient.open(`${server.http}/events/h`);
  await stream.next(); // retry
  assertEquals((await stream.next()).event, "welcome");
  server.clock.advance(15_000);
  server.app.sweep();
  assertEquals((await stream.next({ comments: true })).comment, "ping");
  // Not swept as silent: streams never send, the heartbeat timeout is for sockets.
  server.clock.advance(10 * 60_000);
  server.app.sweep();
  assertEquals(server.app.hub.countOf("h"), 1);
  await server.app.close(1000);
  const close = await stream.next({ comments: false });
  assertEquals([close.event, JSON.parse(close.data)], ["close", {
    code: 1012,
    reason: "service restart",
  }]);
  await stream.closed();
  assertEquals(server.app.hub.occupied, 0);
});

Deno.test("sse: a client that never reads is cut off at the slow-consumer limit and its place freed", async () => {
  await using server = await startServer({ config: { slowConsumerBytes: 64 * 1024 } });
  // Raw TCP: the request goes out, nothing is ever read.
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await stuck.write(new TextEncoder().encode("GET /events/slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  await waitFor(() => server.app.hub.countOf("slow") === 1);
  const big = { text: "x".repeat(60_000) };
  for (let i = 0; i < 500 && server.app.hub.countOf("slow") === 1; i++) {
    await server.post("/api/alarms/slow", big);
  }
  await waitFor(() => server.app.hub.occupied === 0 && server.app.hub.closing === 0);
  assertEquals(server.app.metrics.slowConsumerCloses, 1);
  // The connection itself is dropped: reading now drains what was queued, then ends.
  const buffer = new Uint8Array(1 << 16);
  let read: number | null = 0;
  for (let i = 0; i < 10_000 && read !== null; i++) {
    read = await stuck.read(buffer).catch(() => null);
  }
  assertEquals(read, null);
  stuck.close();
  // Others are served as before.
  await using fresh = await SseClient.open(`${server.http}/events/slow`);
  assertEquals(fresh.response.status, 200);
});

Deno.test("acks: with the stream's token or the API key; checked against the id's head", async () => {
  await using server = await startServer({ config: { tokenSecrets: [SECRET], apiKey: KEY } });
  const keys = new TokenKeys([SECRET]);
  const token = await keys.sign("k", server.clock.time + 60_000);
  const other = await keys.sign("other", server.clock.time + 60_000);
  const auth = { authorization: `Bearer ${KEY}` };
  for (let n = 1; n <= 3; n++) await server.post("/api/alarms/k", { n }, auth);
  await using stream = await SseClient.open(`${server.http}/events/k?token=${token}`);
  await stream.next();
  const { sessionId } = JSON.parse((await stream.next()).data);
  const ack = (body: unknown, headers: Record<string, string>, query = "") =>
    server.post(`/api/acks/k${query}`, body, headers);
  const byToken = await ack({ seq: 2, sessionId }, { authorization: `Bearer ${token}` });
  assertEquals([byToken.status, byToken.body], [200, { id: "k", seq: 2 }]);
  assertEquals((await ack({ seq: 3 }, {}, `?token=${token}`)).status, 200);
  assertEquals((await ack({ seq: 1 }, auth)).status, 200); // lower: changes nothing
  const sessions = await server.get("/api/sessions/k", auth);
  assertEquals([sessions.body.acked, sessions.body.unacknowledged], [3, 0]);
  assertEquals(sessions.body.sessions[0].ackedSeq, 2);
  const refusals: [unknown, Record<string, string>, number, string][] = [
    [{ seq: 1 }, {}, 401, "token_required"],
    [{ seq: 1 }, { authorization: `Bearer ${other}` }, 403, "forbidden"],
    [{ seq: 1 }, { authorization: "Bearer nonsense" }, 401, "invalid_token"],
    [{ seq: 4 }, auth, 409, "invalid_ack"],
    [{ seq: 0 }, auth, 400, "invalid_field"],
    [{ seq: "2" }, auth, 400, "invalid_field"],
    [{ seq: 2, sessionId: 5 }, auth, 400, "invalid_field"],
    [{ seq: 2, extra: true }, auth, 400, "unknown_field"],
    [[2], auth, 400, "not_an_object"],
  ];
  for (const [body, headers, status, code] of refusals) {
    const reply = await ack(body, headers);
    assertEquals([reply.status, reply.body.error.code], [status, code], JSON.stringify(body));
  }
  const get = await server.get("/api/acks/k", auth);
  assertEquals([get.status, get.headers.get("allow")], [405, "POST, OPTIONS"]);
  assertEquals((await server.get("/api/sessions/k", auth)).body.acked, 3);
});

Deno.test("acks: without tokens configured, the API key alone guards them", async () => {
  await using server = await startServer({ config: { apiKey: KEY } });
  await server.post("/api/alarms/o", { n: 1 }, { authorization: `Bearer ${KEY}` });
  const none = await server.post("/api/acks/o", { seq: 1 });
  assertEquals([none.status, none.body.error.code], [401, "unauthorized"]);
  const keyed = await server.post("/api/acks/o", { seq: 1 }, { authorization: `Bearer ${KEY}` });
  assertEquals(keyed.status, 200);
});

Deno.test("sse: every stream of an id gets every alarm, in order (the frame is encoded once, shared)", async () => {
  await using server = await startServer();
  const streams = await Promise.all([1, 2, 3].map(() => SseClient.open(`${server.http}/events/t`)));
  try {
    await waitFor(() => server.app.hub.countOf("t") === 3);
    for (let n = 0; n < 3; n++) await server.post("/api/alarms/t", { n });
    for (const stream of streams) {
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await stream.nextAlarm()).alarm.n);
      assertEquals(got, [0, 1, 2]);
    }
  } finally {
    for (const stream of streams) await stream[Symbol.asyncDispose]();
  }
});
