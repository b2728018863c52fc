import { assert, assertEquals } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

async function publish(server: TestServer, id: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    assertEquals((await server.post(`/api/alarms/${id}`, { n: i })).status, 202);
  }
}

async function seqs(client: TestClient, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const frame = await client.nextJson();
    out.push(frame.type === "alarm" ? frame.alarm.seq : frame.seq);
  }
  return out;
}

/** Both places the alarm log can live. */
const LOGS = ["kv", "memory"] as const;

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

for (const log of LOGS) {
  Deno.test(`${log} log: since: legacy and v1 clients get the stored alarms after it, in order, then live ones`, async () => {
    await using server = await startServer({ log });
    await publish(server, "r", 5);
    await using legacy = await TestClient.open(`${server.ws}/websocket/r?since=2`);
    await using v1 = await TestClient.open(`${server.ws}/websocket/r?since=0`, "alarms.v1");
    assertEquals((await v1.nextJson()).type, "welcome");
    assertEquals(await seqs(legacy, 3), [3, 4, 5]);
    assertEquals(await seqs(v1, 5), [1, 2, 3, 4, 5]);
    await publish(server, "r", 1);
    assertEquals(await seqs(legacy, 1), [6]);
    assertEquals(await seqs(v1, 1), [6]);
    // Nothing else was queued: a final alarm is the next frame.
    await publish(server, "r", 1);
    assertEquals(await seqs(legacy, 1), [7]);
    assertEquals(legacy.pending + v1.pending, 1);
  });
}

for (const log of LOGS) {
  Deno.test(`${log} log: since: no gap and no duplicate while alarms are published during the replay`, async () => {
    await using server = await startServer({ log });
    await publish(server, "busy", 300);
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; i < 150; i++) await server.post("/api/alarms/busy", { live: i });
      publishing = false;
    })();
    await using page = new LegacyPage(server.ws, ["busy?since=0"], 1000);
    await page.opened();
    assert(publishing, "the publisher should still be running while the client replays");
    await publisher;
    await page.until(() => page.list.length >= 450);
    await publish(server, "busy", 1);
    await page.until(() => page.list.length === 451);
    assertEquals(page.list.map((a) => a.seq).sort((a, b) => a - b), range(1, 451));
    assertEquals(page.problems, []);
  });
}

for (const log of LOGS) {
  Deno.test(`${log} log: since older than retention: v1 gets a gap frame, legacy gets what exists`, async () => {
    await using server = await startServer({ log, retention: { count: 3, ageMs: 60_000 } });
    await publish(server, "g", 6);
    await using v1 = await TestClient.open(`${server.ws}/websocket/g?since=1`, "alarms.v1");
    assertEquals((await v1.nextJson()).type, "welcome");
    assertEquals(await v1.nextJson(), { type: "gap", since: 1, firstAvailable: 4 });
    assertEquals(await seqs(v1, 3), [4, 5, 6]);
    await using legacy = await TestClient.open(`${server.ws}/websocket/g?since=0`);
    assertEquals(await seqs(legacy, 3), [4, 5, 6]);
    // Within retention there is no gap frame.
    await using fine = await TestClient.open(`${server.ws}/websocket/g?since=4`, "alarms.v1");
    await fine.next();
    assertEquals(await seqs(fine, 2), [5, 6]);
  });
}

for (const log of LOGS) {
  Deno.test(`${log} log: since beyond the head (a wiped store) starts from the head`, async () => {
    await using server = await startServer({ log });
    await publish(server, "w", 2);
    // v1, so the welcome says when the session is placed: an alarm published between the
    // connect and the head's read is before the head this client claims to have gone past.
    await using client = await TestClient.open(`${server.ws}/websocket/w?since=99`, "alarms.v1");
    assertEquals((await client.nextJson()).seq, 2); // placed at the head, not at 99
    await publish(server, "w", 1);
    assertEquals(await seqs(client, 1), [3]);
  });
}

Deno.test("since and history parameters are validated", async () => {
  await using server = await startServer();
  for (const bad of ["-1", "x", "1.5", "", "99999999999999999"]) {
    const res = await server.get(`/websocket/a?since=${bad}`);
    assertEquals([res.status, res.body.error.code], [400, "invalid_parameter"]);
    const history = await server.get(`/api/alarms/a?after=${bad}`);
    assertEquals([history.status, history.body.error.code], [400, "invalid_parameter"]);
  }
  for (const bad of ["0", "1001", "x"]) {
    assertEquals((await server.get(`/api/alarms/a?limit=${bad}`)).status, 400);
  }
});

for (const log of LOGS) {
  Deno.test(`${log} log: history: stored alarms after a seq, oldest first, paged`, async () => {
    await using server = await startServer({ log });
    await publish(server, "h", 5);
    const all = await server.get("/api/alarms/h");
    assertEquals(all.status, 200);
    assertEquals(all.body.target, "h");
    assertEquals(all.body.seq, 5);
    assertEquals(all.body.alarms.map((a: { seq: number }) => a.seq), [1, 2, 3, 4, 5]);
    assertEquals(all.body.alarms[0], {
      n: 0,
      id: all.body.alarms[0].id,
      createTime: "2026-01-01T00:00:00.000Z",
      seq: 1,
      target: "h",
    });
    const page = await server.get("/api/alarms/h?after=2&limit=2");
    assertEquals(page.body.alarms.map((a: { seq: number }) => a.seq), [3, 4]);
    assertEquals((await server.get("/api/alarms/none")).body, {
      target: "none",
      seq: 0,
      alarms: [],
    });
  });
}

for (const log of LOGS) {
  Deno.test(`${log} log: idempotent publish: the same key or alarm id is stored and delivered once`, async () => {
    await using server = await startServer({ log });
    await using client = await TestClient.open(`${server.ws}/websocket/i`);
    await waitFor(() => server.app.hub.size === 1);
    const first = await server.post("/api/alarms/i", { msg: "a" }, { "idempotency-key": "req-1" });
    assertEquals([first.status, first.body.seq, first.body.delivered], [202, 1, 1]);
    const again = await server.post("/api/alarms/i", { msg: "b" }, { "idempotency-key": "req-1" });
    assertEquals(again.status, 200);
    assertEquals(again.body, {
      id: first.body.id,
      seq: 1,
      target: "i",
      delivered: 0,
      duplicate: true,
    });
    const byId = await server.post("/api/alarms/i", { id: "evt-7", msg: "c" });
    const byIdAgain = await server.post("/api/alarms/i", { id: "evt-7", msg: "d" });
    assertEquals([byId.body.seq, byIdAgain.body.seq, byIdAgain.body.duplicate], [2, 2, true]);
    // A numeric id and the same digits as a string are different keys.
    assertEquals((await server.post("/api/alarms/i", { id: 7 })).body.seq, 3);
    assertEquals((await server.post("/api/alarms/i", { id: "7" })).body.seq, 4);
    const badKey = await server.post("/api/alarms/i", {}, { "idempotency-key": "has space" });
    assertEquals([badKey.status, badKey.body.error.code], [400, "invalid_header"]);
    assertEquals(await seqs(client, 4), [1, 2, 3, 4]);
    assertEquals(
      (await server.get("/api/alarms/i")).body.alarms.map((a: { msg?: string }) => a.msg),
      ["a", "c", undefined, undefined],
    );
    assertEquals(server.app.metrics.alarmsPublished, 4);
  });
}

Deno.test("a store failure answers 503 with Retry-After, never 2xx, and closes joining sockets with 1011", async () => {
  const kv = await Deno.openKv(":memory:");
  await using server = await startServer({ kv });
  await using before = await TestClient.open(`${server.ws}/websocket/f`);
  kv.close();
  const res = await server.post("/api/alarms/f", { msg: "lost?" });
  assertEquals([res.status, res.body.error.code, res.headers.get("retry-after")], [
    503,
    "store_unavailable",
    "1",
  ]);
  assertEquals((await server.post("/api/alarms", { targets: ["f"], alarm: {} })).status, 503);
  assertEquals((await server.get("/api/alarms/f")).status, 503);
  assertEquals((await server.get("/healthz")).status, 503);
  await using after = await TestClient.open(`${server.ws}/websocket/other`);
  assertEquals(await after.waitClosed(), { code: 1011, reason: "store unavailable" });
  assertEquals(before.pending, 0);
  assert(server.app.metrics.errorCount("store_unavailable") >= 4);
});

for (const log of LOGS) {
  Deno.test(`${log} log: concurrent publishes to one id each report their own delivery`, async () => {
    await using server = await startServer({ log });
    await using client = await TestClient.open(`${server.ws}/websocket/c`);
    await waitFor(() => server.app.hub.size === 1);
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => server.post("/api/alarms/c", { i })),
    );
    assertEquals(replies.map((r) => r.body.delivered), Array(40).fill(1));
    assertEquals((await seqs(client, 40)).join(), range(1, 40).join());
  });
}
