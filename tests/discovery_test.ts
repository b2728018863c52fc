import { assertEquals, assertMatch } from "@std/assert";
import { LegacyPage } from "./support/legacy_page.ts";
import { sharedKv, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("alone on a KV file: the feed is not followed, and a newcomer is seen at once", async () => {
  await using kv = await sharedKv();
  await using a = await startServer({ kv: kv.a });
  await a.app.start();
  await using pageOnA = new LegacyPage(a.ws, ["x"], 1000);
  await pageOnA.opened();
  await waitFor(() => a.app.hub.size === 1);
  // Alone: everything published reaches local sessions from the publish itself.
  for (let i = 1; i <= 3; i++) {
    assertEquals((await a.post("/api/alarms/x", { i })).body.delivered, 1);
  }
  // Two watch streams: the one that notices newcomers, and the escalation policies'.
  assertEquals([a.app.hub.following, a.app.hub.watches], [false, 2]);
  assertMatch(await (await fetch(`${a.http}/metrics`)).text(), /^alarmcast_feed_following 0$/m);

  // A second isolate on the same database publishes as soon as it is up: A sees its arrival
  // and follows the feed from then on, re-reading the head of "x" first, so nothing is missed.
  await using b = await startServer({ kv: kv.b });
  await b.app.start();
  assertEquals((await b.post("/api/alarms/x", { i: 4 })).body.seq, 4);
  assertEquals((await b.post("/api/alarms/x", { i: 5 })).body.seq, 5);
  await pageOnA.until(() => pageOnA.list.length === 5);
  assertEquals(pageOnA.list.map((alarm) => alarm.seq).sort(), [1, 2, 3, 4, 5]);
  assertEquals([a.app.hub.following, a.app.hub.watches], [true, 2]);

  // B, which found A at start, follows the feed; alarms through A reach it.
  await using pageOnB = new LegacyPage(b.ws, ["y"], 1000);
  await pageOnB.opened();
  await waitFor(() => b.app.hub.following && b.app.hub.watches === 2);
  await a.post("/api/alarms/y", { via: "A" });
  await pageOnB.until(() => pageOnB.list.length === 1);
  assertEquals([pageOnA.problems, pageOnB.problems], [[], []]);
});

Deno.test("an isolate that never learned whether it is alone follows the feed", async () => {
  await using a = await startServer(); // not started: whether it is alone is unknown
  assertEquals(a.app.hub.watches, 0);
  await using page = new LegacyPage(a.ws, ["x", "y", "z"], 1000);
  await page.opened();
  // One watch stream, however many ids are served.
  await waitFor(() => a.app.hub.following && a.app.hub.watches === 1);
});
