import { assertEquals } from "@std/assert";
import { LegacyPage } from "./support/legacy_page.ts";
import { startServer } from "./support/server.ts";

Deno.test("the old page gets only alarms, across several ids and tabs, newest first", async () => {
  await using server = await startServer();
  // Two tabs of the old page: one watching ids 1 and 2, one watching id 1 only.
  await using tab1 = new LegacyPage(server.ws, ["1", "2"], 20);
  await using tab2 = new LegacyPage(server.ws, ["1"], 20);
  await tab1.opened();
  await tab2.opened();

  const first = await server.post("/api/alarms/1", {
    level: "high",
    msg: "boiler",
    createTime: "2026-01-01T10:00:00Z",
  });
  assertEquals(first.status, 202);
  assertEquals(first.body.delivered, 2);
  const second = await server.post("/api/alarms/2", {
    level: "low",
    msg: "door",
    createTime: "2026-01-01T11:00:00Z",
  });
  assertEquals(second.body.delivered, 1);
  const third = await server.post("/api/alarms/1", { level: "low", msg: "fan" });
  assertEquals(third.body.seq, 2);

  await tab1.until(() => tab1.list.length === 3 && tab1.pings >= 4);
  await tab2.until(() => tab2.list.length === 2 && tab2.pings >= 2);
  // createTime order, newest first: the server-stamped one is "now" on the fake clock (2026-01-01T00:00).
  assertEquals(tab1.list.map((a) => a.msg), ["door", "boiler", "fan"]);
  assertEquals(tab2.list.map((a) => a.msg), ["boiler", "fan"]);
  assertEquals(tab1.list[1], {
    level: "high",
    msg: "boiler",
    createTime: "2026-01-01T10:00:00Z",
    id: first.body.id,
    seq: 1,
    target: "1",
  });
  // Once the server has taken six PINGs, a last alarm: any reply to a PING would arrive before it.
  await tab1.until(() => server.app.metrics.framesIn >= 6);
  await server.post("/api/alarms/1", { msg: "last", createTime: "2026-01-02T00:00:00Z" });
  await tab1.until(() => tab1.list.length === 4);
  await tab2.until(() => tab2.list.length === 3);
  assertEquals(tab1.list[0]!.msg, "last");
  // The PINGs were accepted silently: nothing but alarms ever arrived.
  assertEquals(tab1.problems, []);
  assertEquals(tab2.problems, []);
  assertEquals(server.app.metrics.errorCount("legacy_ignored"), 0);
});

Deno.test("ids are isolated: an alarm reaches only its own id", async () => {
  await using server = await startServer();
  await using a = new LegacyPage(server.ws, ["a"], 1000);
  await using ab = new LegacyPage(server.ws, ["ab", "a.b"], 1000);
  await a.opened();
  await ab.opened();
  assertEquals((await server.post("/api/alarms/ab", { n: 1 })).body.delivered, 1);
  assertEquals((await server.post("/api/alarms/a", { n: 2 })).body.delivered, 1);
  assertEquals((await server.post("/api/alarms/nobody", { n: 3 })).body.delivered, 0);
  await a.until(() => a.list.length === 1);
  await ab.until(() => ab.list.length === 1);
  // A final alarm to each proves nothing else was in flight.
  await server.post("/api/alarms/a", { n: 4 });
  await a.until(() => a.list.length === 2);
  assertEquals(a.list.map((x) => x.n).sort(), [2, 4]);
  assertEquals(ab.list.map((x) => x.n), [1]);
  assertEquals(ab.list[0]!.target, "ab");
});
