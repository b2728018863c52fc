/**
 * Alarm conditions end to end on a real server: raise, repeat, acknowledge, shelve, clear over
 * HTTP and from a v1 socket; what each kind of client receives (the old page exactly its alarm
 * objects, v1 and SSE the conditions and every transition); the snapshot on connect; resuming
 * across a clear; bad input; racing changes.
 */
import { assertEquals, assertMatch } from "@std/assert";
import { prepareAlarm } from "../lib/core/mod.ts";
import { AlarmStore } from "../lib/store/mod.ts";
import { TestClient } from "./support/client.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { SseClient } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";

const KEY = "boiler-7/pressure-high";
const PATH = `/api/conditions/plant/${encodeURIComponent(KEY)}`;

async function openV1(server: TestServer, query = ""): Promise<TestClient> {
  const client = await TestClient.open(`${server.ws}/websocket/plant${query}`, "alarms.v1");
  assertEquals((await client.nextJson()).type, "welcome");
  return client;
}

Deno.test("conditions: raise, repeat, acknowledge, clear; the old page gets exactly its alarm objects, v1 every change", async () => {
  await using server = await startServer();
  await using legacy = await TestClient.open(`${server.ws}/websocket/plant`);
  await using v1 = await openV1(server);
  await server.app.hub.flushPresence();

  for (const n of [1, 2]) {
    const res = await server.post("/api/alarms/plant", { key: KEY, level: "critical", n });
    assertEquals(res.status, 202);
  }
  const list = await server.get("/api/conditions/plant");
  assertEquals(list.status, 200);
  assertEquals(list.body.conditions.length, 1);
  const [raised] = list.body.conditions;
  assertEquals(
    [raised.key, raised.state, raised.count, raised.alarm.n, raised.firstSeq, raised.raiseSeq],
    [KEY, "active-unacknowledged", 2, 2, 1, 2],
  );

  const acked = await server.post(`${PATH}/acknowledge`, { by: "li.wei", comment: "on it" });
  assertEquals(acked.status, 200);
  assertEquals([acked.body.seq, acked.body.condition.state], [3, "active-acknowledged"]);
  assertEquals(acked.body.condition.acknowledged.by, "li.wei");
  const again = await server.post(`${PATH}/acknowledge`, {});
  assertEquals([again.status, again.body.error.code], [409, "not_unacknowledged"]);

  const cleared = await server.post(`${PATH}/clear`, {});
  assertEquals([cleared.status, cleared.body.condition.state], [200, "normal"]);
  assertEquals((await server.get("/api/conditions/plant")).body.conditions, []);
  const all = await server.get("/api/conditions/plant?state=all");
  assertEquals(all.body.conditions.map((c: { state: string }) => c.state), ["normal"]);
  const detail = await server.get(PATH);
  assertEquals(
    detail.body.history.map((e: { seq: number; transition?: { action: string } }) =>
      e.transition?.action ?? `raise ${e.seq}`
    ),
    ["raise 1", "raise 2", "acknowledge", "clear"],
  );

  // The old page: the two alarm objects as published (with their key), then the next alarm.
  assertEquals((await server.post("/api/alarms/plant", { n: 3 })).status, 202);
  for (const n of [1, 2]) {
    const frame = await legacy.nextJson();
    assertEquals([frame.n, frame.key, frame.seq, "condition" in frame], [n, KEY, n, false]);
  }
  assertEquals((await legacy.nextJson()).n, 3); // nothing for the acknowledgement or the clear

  // v1: each raise with the condition it left, then each transition with its seq.
  const frames = [];
  for (let i = 0; i < 5; i++) frames.push(await v1.nextJson());
  assertEquals(frames.map((f) => f.type), ["alarm", "alarm", "transition", "transition", "alarm"]);
  assertEquals([frames[0].condition.count, frames[1].condition.count], [1, 2]);
  assertEquals(frames[2].transition.action, "acknowledge");
  assertEquals(frames[2].transition.by, "li.wei");
  assertEquals(frames[2].transition.comment, "on it");
  assertEquals([frames[3].seq, frames[3].condition.state], [4, "normal"]);
  assertEquals("condition" in frames[4], false);
});

Deno.test("conditions: a client connecting gets the active list first; resuming across a clear gets the clear", async () => {
  await using server = await startServer();
  for (const key of ["a", "b", "c"]) {
    assertEquals((await server.post("/api/alarms/plant", { key })).status, 202);
  }
  await using fresh = await TestClient.open(`${server.ws}/websocket/plant`, "alarms.v1");
  const welcome = await fresh.nextJson();
  assertEquals([welcome.type, welcome.seq, welcome.conditions], ["welcome", 3, 3]);
  const snapshot = await fresh.nextJson();
  assertEquals(snapshot.type, "conditions");
  assertEquals(snapshot.seq, 3);
  assertEquals(snapshot.conditions.map((c: { key: string }) => c.key).sort(), ["a", "b", "c"]);

  assertEquals((await server.post("/api/conditions/plant/b/clear", {})).status, 200); // seq 4
  await using resumed = await TestClient.open(
    `${server.ws}/websocket/plant?since=3`,
    "alarms.v1",
  );
  assertEquals((await resumed.nextJson()).conditions, 3); // b is cleared-unacknowledged: listed
  const listed = await resumed.nextJson();
  assertEquals(
    listed.conditions.find((c: { key: string }) => c.key === "b").state,
    "cleared-unacknowledged",
  );
  const replayed = await resumed.nextJson();
  assertEquals([replayed.type, replayed.seq, replayed.transition.action], [
    "transition",
    4,
    "clear",
  ]);
});

Deno.test("conditions: SSE gets the list, each raise's condition before the alarm, and transitions with their seq", async () => {
  await using server = await startServer();
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  await using stream = await SseClient.open(`${server.http}/events/plant`);
  assertEquals((await stream.next()).retry, 2000);
  const welcome = await stream.next();
  assertEquals([welcome.event, JSON.parse(welcome.data).conditions], ["welcome", 1]);
  const list = await stream.next();
  assertEquals([list.event, JSON.parse(list.data).conditions[0].key], ["conditions", KEY]);
  assertEquals((await server.post("/api/alarms/plant", { key: KEY, n: 2 })).status, 202);
  const condition = await stream.next();
  assertEquals([condition.event, JSON.parse(condition.data).count], ["condition", 2]);
  const alarm = await stream.next();
  assertEquals([alarm.event, alarm.id, JSON.parse(alarm.data).n], [undefined, "2", 2]);
  assertEquals((await server.post(`${PATH}/acknowledge`, {})).status, 200);
  const transition = await stream.next();
  assertEquals(transition.event, "transition");
  assertEquals(transition.id, "3");
  assertEquals(JSON.parse(transition.data).condition.state, "active-acknowledged");
});

Deno.test("conditions: operators act from a v1 socket; refusals come back as error frames", async () => {
  await using server = await startServer({ config: { maxShelveSeconds: 600 } });
  await using v1 = await openV1(server);
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  assertEquals((await v1.nextJson()).type, "alarm");

  v1.send(
    JSON.stringify({ type: "shelve", key: KEY, reason: "sensor swap", durationSeconds: 601 }),
  );
  let reply = await v1.nextJson();
  assertEquals([reply.type, reply.code], ["error", "invalid_field"]);
  v1.send(JSON.stringify({ type: "shelve", key: KEY, durationSeconds: 60 }));
  reply = await v1.nextJson();
  assertEquals([reply.code, reply.message], [
    "invalid_field",
    'Field "reason" is required to shelve',
  ]);
  v1.send(JSON.stringify({ type: "acknowledge", key: "no-such-key" }));
  reply = await v1.nextJson();
  assertEquals([reply.type, reply.code], ["error", "unknown_condition"]);
  // A bad key: the code HTTP answers for one; like a bad reason, answered and not counted as an
  // invalid frame, however many (five invalid frames in a row close a socket).
  for (const key of [7, "..", "a\ud800", "", "x".repeat(300)]) {
    v1.send(JSON.stringify({ type: "acknowledge", key }));
    assertEquals((await v1.nextJson()).code, "invalid_key");
  }
  // A blank one can't be raised today, but one raised before 0.8.2 can be acted on: looked up.
  v1.send(JSON.stringify({ type: "acknowledge", key: " " }));
  assertEquals((await v1.nextJson()).code, "unknown_condition");
  // And it resets the count of invalid frames, as a valid message does.
  for (const frame of ["x", "x", "x", "x", '{"type":"acknowledge"}', "x"]) {
    v1.send(frame);
    assertEquals((await v1.nextJson()).type, "error");
  }
  v1.send(JSON.stringify({ type: "ping" }));
  assertEquals((await v1.nextJson()).type, "pong");

  v1.send(JSON.stringify({ type: "shelve", key: KEY, reason: "sensor swap", durationSeconds: 60 }));
  const shelved = await v1.nextJson();
  assertEquals([shelved.type, shelved.transition.action, shelved.transition.by], [
    "transition",
    "shelve",
    "anonymous",
  ]);
  // Its entry's id: a client resuming after it tells by it a log that started again.
  assertMatch(shelved.id, /^[0-9a-f-]{36}$/);
  assertEquals(shelved.condition.shelved.until, server.clock.time + 60_000);
  assertEquals((await server.get("/api/conditions/plant?state=shelved")).body.conditions.length, 1);
  v1.send(JSON.stringify({ type: "shelve", key: KEY, reason: "again", durationSeconds: 60 }));
  assertEquals((await v1.nextJson()).code, "already_shelved");
  v1.send(JSON.stringify({ type: "unshelve", key: KEY, comment: "done" }));
  const unshelved = await v1.nextJson();
  assertEquals([unshelved.transition.action, "shelved" in unshelved.condition], [
    "unshelve",
    false,
  ]);
});

Deno.test("conditions: a shelving ends by itself when its time is up, pushed like any change", async () => {
  await using server = await startServer();
  await using v1 = await openV1(server);
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  assertEquals((await v1.nextJson()).type, "alarm");
  const res = await server.post(`${PATH}/shelve`, { reason: "test", durationSeconds: 1 });
  assertEquals(res.status, 200);
  assertEquals((await v1.nextJson()).transition.action, "shelve");
  server.clock.advance(1000); // the server's clock says the second has passed when its timer fires
  const ended = await v1.nextJson(3000);
  assertEquals([ended.transition.action, ended.transition.by], ["expire", "system"]);
  assertEquals("shelved" in ended.condition, false);
});

Deno.test("conditions: bad input gets a clear error, and nothing changes", async () => {
  await using server = await startServer({ config: { maxShelveSeconds: 600 } });
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  const cases: [string, Record<string, unknown>, number, string][] = [
    [`${PATH}/dance`, {}, 404, "not_found"],
    [`${PATH}/acknowledge`, { reason: "r" }, 400, "unknown_field"],
    ["/api/conditions/plant/nope/acknowledge", {}, 404, "unknown_condition"],
    [`${PATH}/shelve`, { durationSeconds: 60 }, 400, "invalid_field"],
    [`${PATH}/shelve`, { reason: "r", durationSeconds: 601 }, 400, "invalid_field"],
    [`${PATH}/shelve`, { reason: "r" }, 400, "invalid_field"],
    [`${PATH}/shelve`, { reason: "r", untilCleared: "yes" }, 400, "invalid_field"],
    [`${PATH}/shelve`, { reason: "r", durationSeconds: null }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { by: "system" }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { by: "api" }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { by: "Anonymous" }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { by: "li\u0000wei" }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { color: "red" }, 400, "unknown_field"],
    [`${PATH}/acknowledge`, { by: "" }, 400, "invalid_field"],
    [`${PATH}/acknowledge`, { comment: "x".repeat(1001) }, 400, "invalid_field"],
    [`${PATH}/unshelve`, {}, 409, "not_shelved"],
    ["/api/conditions/plant/%E0%A4%A/acknowledge", {}, 400, "invalid_key"],
    ["/api/conditions/bad!id/k/acknowledge", {}, 400, "invalid_id"],
  ];
  for (const [path, body, status, code] of cases) {
    const res = await server.post(path, body);
    assertEquals([res.status, res.body?.error?.code], [status, code], path);
  }
  const state = await server.get("/api/conditions/plant?state=dance");
  assertEquals([
    state.status,
    state.body.error.message.startsWith(
      'Parameter "state" must be one of "active-unacknowledged", ',
    ),
  ], [400, true]);
  for (const query of ["state=all&state=shelved", "level=critical&level=minor"]) {
    const twice = await server.get(`/api/conditions/plant?${query}`);
    assertEquals([twice.status, twice.body.error.code], [400, "invalid_parameter"], query);
    assertEquals(twice.body.error.message.endsWith("is given twice"), true);
  }
  // One message for a key never raised, whether read or acted on.
  const read = await server.get("/api/conditions/plant/nope");
  const acted = await server.post("/api/conditions/plant/nope/acknowledge", {});
  assertEquals([read.status, read.body.error.message], [404, 'Id "plant" has no condition "nope"']);
  assertEquals(acted.body.error, read.body.error);
  // Keys no path could name, or that KV would store as another key's.
  for (const key of ["", ".", "..", "a\ud800b"]) {
    const res = await server.post("/api/alarms/plant", { key });
    assertEquals([res.status, res.body.error.code], [400, "invalid_field"], key);
  }
  assertEquals((await server.post("/api/alarms/plant", { condition: {} })).status, 400);
  const [condition] = (await server.get("/api/conditions/plant")).body.conditions;
  assertEquals([condition.state, condition.seq, "shelved" in condition], [
    "active-unacknowledged",
    1,
    false,
  ]);
});

Deno.test("conditions: of concurrent changes exactly one wins, and every client ends in the same state", async () => {
  await using server = await startServer();
  await using a = await openV1(server);
  await using b = await openV1(server);
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => server.post(`${PATH}/acknowledge`, { by: `op${i}` })),
  );
  assertEquals(answers.filter((r) => r.status === 200).length, 1);
  assertEquals(answers.filter((r) => r.status === 409).length, 9);
  for (const client of [a, b]) {
    assertEquals((await client.nextJson()).type, "alarm");
    const change = await client.nextJson();
    assertEquals([change.type, change.condition.state], ["transition", "active-acknowledged"]);
  }
});

Deno.test("conditions: floods, chattering and shelved conditions, by id and in /metrics", async () => {
  await using server = await startServer();
  for (let i = 0; i < 10; i++) {
    assertEquals(
      (await server.post("/api/alarms/plant", { key: i < 3 ? "chatty" : undefined })).status,
      202,
    );
  }
  let figures = (await server.get("/api/performance/plant")).body;
  assertEquals([figures.alarms, figures.flood, figures.chattering], [10, false, ["chatty"]]);
  assertEquals((await server.post("/api/alarms/plant", { n: 11 })).status, 202);
  assertEquals(
    await server.post(`/api/conditions/plant/chatty/shelve`, {
      reason: "noisy",
      durationSeconds: 60,
    }).then((r) => r.status),
    200,
  );
  figures = (await server.get("/api/performance/plant")).body;
  assertEquals(figures, {
    id: "plant",
    windowMs: 600_000,
    alarms: 11,
    flood: true,
    chattering: ["chatty"],
    stale: [],
    shelved: 1,
    frequent: [{ key: "chatty", count: 3 }],
  });
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  for (
    const line of [
      "alarmcast_alarm_floods 1",
      "alarmcast_conditions_chattering 1",
      'alarmcast_id_alarms{id="plant"} 11',
      'alarmcast_id_conditions_chattering{id="plant"} 1',
      'alarmcast_condition_changes_total{action="shelve"} 1',
    ]
  ) assertEquals(metrics.includes(`\n${line}\n`), true, line);
  server.clock.advance(10 * 60_000); // ten minutes later: no flood, nothing chattering
  figures = (await server.get("/api/performance/plant")).body;
  assertEquals([figures.alarms, figures.flood, figures.chattering], [0, false, []]);
  const later = await (await fetch(`${server.http}/metrics`)).text();
  assertEquals(later.includes("\nalarmcast_alarm_floods 0\n"), true);
  assertEquals(later.includes('alarmcast_id_alarms{id="plant"}'), false); // quiet ids go
});

Deno.test("conditions: a condition's history is its latest entries, however long the log", async () => {
  await using server = await startServer({ retention: { count: 20_000, ageMs: 3600_000 } });
  const publish = (body: Record<string, unknown>) => server.post("/api/alarms/plant", body);
  const many = async (n: number, body: (i: number) => Record<string, unknown>) => {
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => publish(body(i + j)));
      for (const res of await Promise.all(batch)) assertEquals(res.status, 202);
    }
  };
  assertEquals((await publish({ key: KEY, message: "first" })).status, 202);
  // Pages of other alarms between the raise and the acknowledgement.
  await many(1_500, (n) => ({ n }));
  assertEquals((await server.post(`${PATH}/acknowledge`, { by: "li.wei" })).status, 200);
  const { history } = (await server.get(PATH)).body;
  assertEquals(history.map((e: { seq: number }) => e.seq), [1, 1_502]);
  assertEquals([history[0].message, history[1].transition.by], ["first", "li.wei"]);
  // Past the entries searched, the newest are shown, not the oldest.
  await many(10_000, (n) => ({ n }));
  await many(120, (n) => ({ key: KEY, n }));
  const latest = (await server.get(PATH)).body.history;
  assertEquals([latest.length, latest[0].seq, latest.at(-1).seq], [100, 11_523, 11_622]);
});

Deno.test("conditions: a condition's history holds each entry once when the log was trimmed", async () => {
  await using server = await startServer({ retention: { count: 1000, ageMs: 3600_000 } });
  const publish = (body: Record<string, unknown>) => server.post("/api/alarms/plant", body);
  const many = async (n: number) => {
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => publish({ n: i + j }));
      for (const res of await Promise.all(batch)) assertEquals(res.status, 202);
    }
  };
  await many(600);
  assertEquals((await publish({ key: KEY })).status, 202); // seq 601
  await many(900);
  assertEquals((await publish({ key: KEY })).status, 202); // seq 1502; 503 and on are kept
  const { history } = (await server.get(PATH)).body;
  assertEquals(history.map((e: { seq: number }) => e.seq), [601, 1502]);
});

Deno.test("conditions: the level filter reads a level as the console does", async () => {
  await using server = await startServer();
  const raised = [
    { key: "a", level: "Critical" },
    { key: "b", severity: 4 },
    { key: "c", level: "minor", severity: "critical" },
    { key: "d", level: { odd: true } },
  ];
  for (const body of raised) {
    assertEquals((await server.post("/api/alarms/plant", body)).status, 202);
  }
  const keys = async (level: string) =>
    (await server.get(`/api/conditions/plant?level=${level}`)).body.conditions
      .map((c: { key: string }) => c.key);
  assertEquals(await keys("critical"), ["a"]);
  assertEquals(await keys("CRITICAL"), ["a"]);
  assertEquals(await keys("4"), ["b"]);
  assertEquals(await keys("minor"), ["c"]);
  assertEquals(await keys("%5Bobject%20Object%5D"), []);
  // Empty: the conditions without a level (an object is none, as the console reads it).
  assertEquals(await keys(""), ["d"]);
});

Deno.test("conditions: the transitions of an id, paged: who did what when", async () => {
  await using server = await startServer();
  for (const key of ["a", "b"]) {
    assertEquals((await server.post("/api/alarms/plant", { key })).status, 202);
  }
  const act = (key: string, action: string, body: Record<string, unknown>) =>
    server.post(`/api/conditions/plant/${key}/${action}`, body);
  assertEquals((await act("a", "acknowledge", { by: "li.wei", comment: "on it" })).status, 200);
  assertEquals((await server.post("/api/alarms/plant", { n: 1 })).status, 202);
  assertEquals(
    (await act("b", "shelve", { by: "wang", reason: "swap", durationSeconds: 60 })).status,
    200,
  );
  assertEquals((await act("a", "clear", {})).status, 200);
  const all = (await server.get("/api/transitions/plant")).body;
  assertEquals(
    all.transitions.map((e: { transition: { action: string; key: string; by: string } }) =>
      `${e.transition.action} ${e.transition.key} by ${e.transition.by}`
    ),
    // No credentials on an open server: `anonymous`, as over a socket.
    ["acknowledge a by li.wei", "shelve b by wang", "clear a by anonymous"],
  );
  assertEquals([all.seq, all.scanned, all.transitions[0].transition.comment], [6, 6, "on it"]);
  // Two at a time: the second page starts where the first one stopped.
  const first = (await server.get("/api/transitions/plant?limit=2")).body;
  assertEquals([first.transitions.length, first.scanned], [2, 5]);
  const next = (await server.get(`/api/transitions/plant?after=${first.scanned}`)).body;
  assertEquals(next.transitions.map((e: { seq: number }) => e.seq), [6]);
  // Given twice, even alike: which to follow would be a guess.
  for (const query of ["after=-1", "limit=0", "limit=x", "limit=1&limit=2", "after=1&after=1"]) {
    const res = await server.get(`/api/transitions/plant?${query}`);
    assertEquals([res.status, res.body.error.code], [400, "invalid_parameter"], query);
  }
  assertEquals((await server.get("/api/transitions/bad%20id")).status, 400);
  assertEquals((await server.get("/api/transitions/nobody")).body, {
    id: "nobody",
    seq: 0,
    scanned: 0,
    transitions: [],
  });
});

Deno.test("conditions: a shelving past its end that nothing ended (stored before 0.7) ends when read", async () => {
  await using server = await startServer();
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  const res = await server.post(`${PATH}/shelve`, { reason: "old", durationSeconds: 60 });
  assertEquals(res.status, 200);
  // As 0.6 left it: the record says shelved, and no end of it is stored.
  const ends = await Array.fromAsync(server.app.kv.list({ prefix: ["shelf"] }));
  for (const end of ends) await server.app.kv.delete(end.key);
  server.clock.advance(61_000);
  await using v1 = await openV1(server);
  assertEquals((await v1.nextJson()).type, "conditions");
  const ended = await v1.nextJson();
  assertEquals([ended.transition.action, ended.transition.by], ["expire", "system"]);
  assertEquals("shelved" in (await server.get(PATH)).body, false);
});

Deno.test("conditions: an overdue shelving found by reads of the one condition ends once", async () => {
  await using server = await startServer();
  assertEquals((await server.post("/api/alarms/plant", { key: KEY })).status, 202);
  assertEquals(
    (await server.post(`${PATH}/shelve`, { reason: "old", durationSeconds: 60 })).status,
    200,
  );
  for (const end of await Array.fromAsync(server.app.kv.list({ prefix: ["shelf"] }))) {
    await server.app.kv.delete(end.key);
  }
  server.clock.advance(61_000);
  await Promise.all([server.get(PATH), server.get(PATH)]);
  await waitFor(async () => !("shelved" in (await server.get(PATH)).body));
  const trail = (await server.get("/api/transitions/plant")).body.transitions;
  assertEquals(trail.map((e: { transition: { action: string } }) => e.transition.action), [
    "shelve",
    "expire",
  ]);
});

Deno.test("conditions: a list larger than the slow-consumer threshold reaches v1 and SSE clients whole, and they stay", async () => {
  // 300 conditions of about 1 kB: some 300 kB of snapshot against a 64 KiB threshold.
  await using server = await startServer({ config: { slowConsumerBytes: 64 * 1024 } });
  const message = "m".repeat(1000);
  for (let i = 0; i < 300; i += 30) {
    await Promise.all(
      Array.from(
        { length: 30 },
        (_, j) => server.post("/api/alarms/plant", { key: `k${i + j}`, message }),
      ),
    );
  }
  // One more with an alarm too long for a snapshot: listed with its identity, whole in the API.
  const long = "l".repeat(5000);
  assertEquals(
    (await server.post("/api/alarms/plant", { key: "long", level: "high", message: long })).status,
    202,
  );
  await using v1 = await TestClient.open(`${server.ws}/websocket/plant`, "alarms.v1");
  assertEquals((await v1.nextJson()).conditions, 301);
  const list = await v1.nextJson();
  assertEquals([list.type, list.conditions.length], ["conditions", 301]);
  const listed = list.conditions.find((c: { key: string }) => c.key === "long");
  assertEquals([listed.alarm.truncated, listed.alarm.level, listed.alarm.message], [
    true,
    "high",
    undefined,
  ]);
  const whole = await server.get(`/api/conditions/plant/long`);
  assertEquals(whole.body.alarm.message, long);
  await using stream = await SseClient.open(`${server.http}/events/plant`);
  await stream.next(); // retry advice
  assertEquals((await stream.next()).event, "welcome");
  const sseList = await stream.next();
  assertEquals([sseList.event, JSON.parse(sseList.data).conditions.length], ["conditions", 301]);
  // One stream of two ids: both lists go into its one queue, and it stays too.
  for (let i = 0; i < 10; i++) {
    assertEquals((await server.post("/api/alarms/other", { key: `o${i}`, message })).status, 202);
  }
  await using both = await SseClient.open(`${server.http}/events?id=plant&id=other`);
  const lists = new Map<string, number>();
  while (lists.size < 2) {
    const event = await both.next();
    if (event.event !== "conditions") continue;
    const { id, conditions } = JSON.parse(event.data);
    lists.set(id, conditions.length);
  }
  assertEquals(Object.fromEntries(lists), { plant: 301, other: 10 });
  // All still open: the next alarm reaches them.
  assertEquals((await server.post("/api/alarms/plant", { key: "k0", n: "live" })).status, 202);
  assertEquals((await v1.nextJson()).alarm.n, "live");
  assertEquals((await stream.next()).event, "condition");
  assertEquals(JSON.parse((await stream.next()).data).n, "live");
  let live;
  do live = await both.next(); while (live.event !== undefined || !live.data.includes('"live"'));
  assertEquals(server.app.metrics.slowConsumerCloses, 0);
});

Deno.test("conditions: the list is latest raise first; an operator's action doesn't move a row", async () => {
  await using server = await startServer();
  for (const key of ["a", "b", "c"]) {
    await server.post("/api/alarms/plant", { key });
    server.clock.advance(1000);
  }
  assertEquals((await server.post("/api/conditions/plant/a/acknowledge", {})).status, 200);
  assertEquals((await server.post("/api/conditions/plant/b/clear", {})).status, 200);
  const keys = async () =>
    (await server.get("/api/conditions/plant")).body.conditions.map((c: { key: string }) => c.key);
  assertEquals(await keys(), ["c", "b", "a"]);
  await server.post("/api/alarms/plant", { key: "a" });
  assertEquals(await keys(), ["a", "c", "b"]);
});

Deno.test("conditions raised before 0.8.2 under keys now refused (blank) can still be acted on", async () => {
  using kv = await Deno.openKv(":memory:");
  // As 0.7 stored them: raised under keys that show as nothing.
  const older = new AlarmStore(kv, { count: 1000, ageMs: 3600_000 });
  const blanks = ["\u200b", "\u3164", " \u00ad "];
  for (const key of blanks) {
    const made = prepareAlarm({ level: "critical" }, Date.now()); // today's checks refuse the key
    const prepared = { ...made, fields: { ...made.fields, key } };
    await older.append("plant-k", prepared, undefined, undefined, {
      key,
      change: { action: "raise", alarm: prepared.fields },
      at: Date.now(),
    });
  }
  await using server = await startServer({ kv });
  // Raising one is refused today; reading and acting on those stored works.
  const raised = await server.post("/api/alarms/plant-k", { key: "\u200b" });
  assertEquals([raised.status, raised.body.error.code], [400, "invalid_field"]);
  const path = (key: string, action = "") =>
    `/api/conditions/plant-k/${encodeURIComponent(key)}${action}`;
  assertEquals((await server.get(path(blanks[0]!))).body.state, "active-unacknowledged");
  const acked = await server.post(path(blanks[0]!, "/acknowledge"), { comment: "old one" });
  assertEquals([acked.status, acked.body.condition.state], [200, "active-acknowledged"]);
  const cleared = await server.post(path(blanks[1]!, "/clear"), {});
  assertEquals([cleared.status, cleared.body.condition.state], [200, "cleared-unacknowledged"]);
  await using v1 = await TestClient.open(`${server.ws}/websocket/plant-k`, "alarms.v1");
  await v1.nextJson(); // the welcome
  v1.send(JSON.stringify({ type: "acknowledge", key: blanks[2], ref: "r" }));
  let reply = await v1.nextJson();
  while (reply.type !== "ok" && reply.type !== "error") reply = await v1.nextJson();
  assertEquals([reply.type, reply.ref], ["ok", "r"]);
  assertEquals((await server.get(path(blanks[2]!))).body.state, "active-acknowledged");
  // A blank key never raised is simply unknown.
  assertEquals((await server.get(path("\u2060"))).status, 404);
});
