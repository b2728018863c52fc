import { assertEquals } from "@std/assert";
import { crossProcessProof, PROCESSES, publish, startFleet, stopFleet } from "./support/fleet.ts";
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
