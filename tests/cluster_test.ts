import { assertEquals, assertNotEquals } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { sharedKv, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("two instances on one KV: alarms, sends, presence and broadcast cross between them", async () => {
  await using kv = await sharedKv();
  await using a = await startServer({ kv: kv.a });
  await using b = await startServer({ kv: kv.b });
  assertNotEquals(a.app.hub.instance, b.app.hub.instance);

  await using pageOnB = new LegacyPage(b.ws, ["x", "only-b"], 1000);
  await pageOnB.opened();
  await using v1OnB = await TestClient.open(`${b.ws}/websocket/x`, "alarms.v1");
  await v1OnB.next();
  await using v1OnA = await TestClient.open(`${a.ws}/websocket/op`, "alarms.v1");
  await v1OnA.next();

  // Published through A, held by B: delivered through KV watch.
  const res = await a.post("/api/alarms/x", { msg: "via A" });
  assertEquals([res.status, res.body.seq, res.body.delivered], [202, 1, 0]);
  await pageOnB.until(() => pageOnB.list.length === 1);
  assertEquals((await v1OnB.nextJson()).alarm.msg, "via A");

  // A v1 send from a session on A reaches the sessions of "x" on B.
  v1OnA.send(JSON.stringify({ type: "send", to: "x", data: { hi: 1 } }));
  assertEquals(await v1OnB.nextJson(), { type: "message", from: "op", data: { hi: 1 } });

  // Presence: A counts B's sessions too (after B's debounced write).
  await waitFor(async () => (await a.get("/api/sessions")).body.sessions === 4);
  const fromA = await a.get("/api/sessions");
  assertEquals(fromA.body.byId.map((e: { id: string; count: number }) => [e.id, e.count]), [
    ["only-b", 1],
    ["op", 1],
    ["x", 2],
  ]);

  // Each instance sees the other through the shared store (the Deno Deploy KV check).
  assertEquals((await a.get("/healthz")).body.instances, 2);

  // A broadcast through A reaches an id that is online only on B.
  const all = await a.post("/api/broadcast", { msg: "everyone" });
  assertEquals(all.body.alarms.map((r: { target: string }) => r.target).sort(), [
    "only-b",
    "op",
    "x",
  ]);
  await pageOnB.until(() => pageOnB.list.filter((x) => x.msg === "everyone").length === 2);
  assertEquals(pageOnB.problems, []);
  // Seqs stayed gap-free across both instances.
  assertEquals((await b.post("/api/alarms/x", {})).body.seq, 3);
});
