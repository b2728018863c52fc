import { assert, assertEquals, assertLess, assertLessOrEqual } from "@std/assert";
import { FaultyKv } from "./support/faulty_kv.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { sharedKv, startServer } from "./support/server.ts";
import { assertAnsweredWithin, assertStoredOnce, publishSteadily } from "./support/steady.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("a hung store: 503 within the deadline, /healthz 503, and back by itself", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using a = await startServer({ kv, storeTimeoutMs: 300 });
  const accepted = [(await a.post("/api/alarms/x", { n: 1 })).body.seq];
  assertEquals((await a.get("/healthz")).status, 200);

  kv.hung = true;
  const started = Date.now();
  const refused = await a.post("/api/alarms/x", { n: 2 });
  assertLess(Date.now() - started, 1500);
  assertEquals([refused.status, refused.body.error.code], [503, "store_unavailable"]);
  assertEquals(refused.headers.get("retry-after"), "1");
  // One probe serves a second of health checks: the next after it finds the store hung.
  let health = await a.get("/healthz");
  await waitFor(async () => (health = await a.get("/healthz")).status === 503, 3000);
  assertEquals([health.status, health.body.error.code], [503, "store_unavailable"]);
  // While its probe write is unanswered (KV Connect would retry it for good), no other starts:
  // an outage's health checks don't pile writes up.
  const during = kv.calls.set;
  const until = Date.now() + 1500;
  while (Date.now() < until) assertEquals((await a.get("/healthz")).status, 503);
  assertEquals(kv.calls.set, during);

  kv.release();
  const after = await a.post("/api/alarms/x", { n: 3 });
  assertEquals(after.status, 202);
  accepted.push(after.body.seq);
  await waitFor(async () => (await a.get("/healthz")).status === 200); // within a second
  // A flood of health checks (anyone may ask) costs the store a write a second, not one each.
  const writes = kv.calls.set;
  await Promise.all(Array.from({ length: 50 }, () => a.get("/healthz")));
  assertLessOrEqual(kv.calls.set - writes, 2);
  // What got a 202 is stored, seqs stay contiguous (the refused alarm may have landed late).
  const history = (await a.get("/api/alarms/x")).body.alarms.map((x: { seq: number }) => x.seq);
  assertEquals(history, Array.from({ length: history.length }, (_, i) => i + 1));
  for (const seq of accepted) assert(history.includes(seq));
});

Deno.test("a slow store is waited for up to the deadline, and refused past it", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using a = await startServer({ kv, storeTimeoutMs: 400 });
  await using page = new LegacyPage(a.ws, ["x"], 1000);
  await page.opened();
  kv.latencyMs = 100; // slow, within the deadline: served, and delivered
  assertEquals((await a.post("/api/alarms/x", { slow: true })).status, 202);
  await page.until(() => page.list.length === 1);
  kv.latencyMs = 1000; // past it: refused, not hung
  const started = Date.now();
  assertEquals((await a.post("/api/alarms/x", { slower: true })).status, 503);
  assertLess(Date.now() - started, 1000);
  kv.latencyMs = 0;
  assertEquals((await a.post("/api/alarms/x", { fast: true })).status, 202);
  await kv.idle(); // the refused call still finishes, late
});

Deno.test("the feed survives ended watches, failed reads and expired entries", async () => {
  await using shared = await sharedKv();
  const kvA = new FaultyKv(shared.a);
  const kvB = new FaultyKv(shared.b);
  await using a = await startServer({ kv: kvA });
  await using b = await startServer({ kv: kvB });
  await using page = new LegacyPage(b.ws, ["x"], 1000);
  await page.opened();
  await waitFor(() => b.app.hub.following && kvB.openWatches === 1);
  let n = 0;
  const publishAndSee = async () => {
    assertEquals((await a.post("/api/alarms/x", { n: ++n })).status, 202);
    await page.until(() => page.list.length === n);
  };
  await publishAndSee();

  kvB.endWatches(); // a dropped connection: the watch is opened again
  await publishAndSee();
  assertEquals(kvB.openWatches, 1);

  kvB.fail("list:feed", 2); // reading the feed fails twice: retried with backoff
  await publishAndSee();
  assertEquals(kvB.failing.get("list:feed"), 0);
  kvB.fail("list:alarm", 2); // reading the log fails twice: the catch-up is retried
  await publishAndSee();
  assertEquals(kvB.failing.get("list:alarm"), 0);

  kvB.feedGone = true; // entries expired before they were read: heads are read instead
  kvB.resetCounts();
  await publishAndSee();
  assertEquals(kvB.calls.getMany, 1); // the head of "x"
  kvB.feedGone = false;
  await publishAndSee();

  assertEquals(page.list.map((alarm) => alarm.seq).sort((p, q) => p - q), [1, 2, 3, 4, 5, 6]);
  assertEquals(page.problems, []);
});

Deno.test("several targets go out in a few shared commits, not one per target", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using a = await startServer({ kv });
  const targets = Array.from({ length: 300 }, (_, i) => `t-${i}`);
  kv.resetCounts();
  const res = await a.post("/api/alarms", { targets, alarm: { level: "high" } });
  assertEquals(res.status, 202);
  assertEquals(res.body.alarms.length, 300);
  // 100 ids at most per atomic operation; one commit alone while the rest queue.
  assertLessOrEqual(kv.calls.commit, 5);
});

Deno.test("presence writes what changed, and reads are shared for a second", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using a = await startServer({ kv });
  await using page = new LegacyPage(a.ws, ["x", "y"], 1000);
  await page.opened();
  await waitFor(() => a.app.hub.size === 2);
  await a.app.hub.flushPresence();
  kv.resetCounts();
  await a.app.hub.flushPresence(); // nothing changed: only the liveness record
  assertEquals(kv.calls.set, 1);
  kv.resetCounts();
  for (let i = 0; i < 10; i++) assertEquals((await a.get("/api/sessions")).body.sessions, 2);
  assertEquals(kv.calls.list, 1);
});

Deno.test("a store that hangs under a steady publish rate: every answer within the deadline, each alarm stored once", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  const timeoutMs = 500;
  // As on KV Connect: 10 checks per commit, so a batch carries 7 keyed publishes to one id.
  await using a = await startServer({ kv, storeTimeoutMs: timeoutMs, commits: { maxChecks: 10 } });
  // 20 publishes a second: 1 s served, 3 s hung (the queue behind a stuck commit grows), back.
  const answers = await publishSteadily(`${a.http}/api/alarms/steady`, 50, 100, (n) => {
    if (n === 20) kv.hung = true;
    if (n === 80) kv.release();
  });
  assertAnsweredWithin(answers, timeoutMs + 500);
  const statuses = answers.map((a) => a.status);
  assertEquals(statuses.slice(0, 20), statuses.slice(0, 20).map(() => 202));
  assertLessOrEqual(40, statuses.filter((s) => s === 503).length, "most of the hang refused");
  assertEquals(statuses.slice(-10), statuses.slice(-10).map(() => 202), "served again");
  // Commits that hung landed on release: retried with their keys, they are found, not stored
  // a second time.
  const { landedAnyway } = await assertStoredOnce(a.http, "steady", answers);
  assertLess(0, landedAnyway);
  await kv.idle();
});
