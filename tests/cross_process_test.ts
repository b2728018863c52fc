import { assertEquals } from "@std/assert";
import { crossProcessProof, PROCESSES, publish, startFleet, stopFleet } from "./support/fleet.ts";
import { TestClient } from "./support/client.ts";
import { SseClient } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";

Deno.test("three processes on one SQLite file deliver live to each other, gap-free", async () => {
  const dir = await Deno.makeTempDir();
  const fleet = await startFleet(PROCESSES, { KV_PATH: `${dir}/kv.sqlite3` });
  try {
    await crossProcessProof(fleet, "feed+poll");
  } finally {
    await stopFleet(fleet);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an SSE stream on one process gets what another process publishes, and a multi-id stream its cursor", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b] = await startFleet(2, { KV_PATH: `${dir}/kv.sqlite3` });
  try {
    await using stream = await SseClient.open(`${a!.http}/events?id=s1&id=s2`);
    assertEquals(stream.response.status, 200);
    await waitFor(async () =>
      (await (await fetch(`${b!.http}/api/sessions/s1`)).json()).count === 1
    );
    for (const [id, n] of [["s1", 1], ["s2", 1], ["s1", 2]] as const) {
      assertEquals((await publish(b!, id, { n })).status, 202);
    }
    // In order per id; ids follow separate feed buckets, so not in order across ids.
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await stream.nextAlarm());
    const s1 = events.filter((e) => e.alarm.target === "s1").map((e) => e.alarm.seq);
    assertEquals([s1, events.length], [[1, 2], 3]);
    assertEquals(events.at(-1)!.id, "s1=2,s2=1"); // every id's position, whichever came last
  } finally {
    await stopFleet([a!, b!]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an ack, from a v1 socket or over HTTP, reaches the id's other v1 and SSE sessions on another process; legacy sockets see only alarms", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b] = await startFleet(2, { KV_PATH: `${dir}/kv.sqlite3` });
  const id = "plant-ack";
  try {
    await using acker = await TestClient.open(`${a!.ws}/websocket/${id}`, "alarms.v1");
    await using watcher = await TestClient.open(`${b!.ws}/websocket/${id}`, "alarms.v1");
    await using legacy = await TestClient.open(`${b!.ws}/websocket/${id}`);
    await using stream = await SseClient.open(`${b!.http}/events/${id}`);
    for (const client of [acker, watcher]) assertEquals((await client.nextJson()).type, "welcome");
    assertEquals((await stream.next()).retry, 2000);
    const welcome = await stream.next();
    assertEquals(welcome.event, "welcome");
    await waitFor(async () =>
      (await (await fetch(`${a!.http}/api/sessions/${id}`)).json()).count === 4
    );
    for (let n = 1; n <= 3; n++) assertEquals((await publish(b!, id, { n })).status, 202);
    for (let seq = 1; seq <= 3; seq++) {
      for (const client of [acker, watcher]) assertEquals((await client.nextJson()).alarm.seq, seq);
      assertEquals((await stream.nextAlarm()).alarm.seq, seq);
      assertEquals((await legacy.nextJson()).seq, seq);
    }

    // A v1 socket on A acknowledges: B's v1 socket and SSE stream are told, the acker is not.
    acker.send(JSON.stringify({ type: "ack", seq: 2 }));
    assertEquals(await watcher.nextJson(), { type: "ack", id, seq: 2 });
    const pushed = await stream.next();
    assertEquals([pushed.event, JSON.parse(pushed.data), pushed.id], [
      "ack",
      { id, seq: 2 },
      undefined,
    ]);
    acker.send(JSON.stringify({ type: "ping" }));
    assertEquals((await acker.nextJson()).type, "pong"); // no ack of its own before the pong

    // Over HTTP on A, naming the SSE session on B: everyone else is told, that session is not.
    const { sessionId } = JSON.parse(welcome.data);
    const res = await fetch(`${a!.http}/api/acks/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ seq: 3, sessionId }),
    });
    assertEquals([res.status, await res.json()], [200, { id, seq: 3 }]);
    for (const client of [acker, watcher]) {
      assertEquals(await client.nextJson(), { type: "ack", id, seq: 3 });
    }
    const status = await (await fetch(`${b!.http}/api/sessions/${id}`)).json();
    assertEquals([status.acked, status.unacknowledged], [3, 0]);

    // The old page and the named SSE session see the next alarm next: no ack frames for them.
    assertEquals((await publish(a!, id, { n: 4 })).status, 202);
    assertEquals((await legacy.nextJson()).seq, 4);
    const next = await stream.next();
    assertEquals([next.event, next.id, JSON.parse(next.data).seq], [undefined, "4", 4]);
  } finally {
    await stopFleet([a!, b!]);
    await Deno.remove(dir, { recursive: true });
  }
});
