import { assertEquals } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { DENOKV, DenoKv } from "./support/denokv.ts";
import {
  assertAllReceived,
  hold,
  type Member,
  publish,
  startFleet,
  stopFleet,
} from "./support/fleet.ts";
import { freePort } from "./support/ports.ts";
import { SseClient, type SseEvent } from "./support/sse.ts";

// A client that got seq N from process A reconnects to process B with `since=N` before B has
// seen N (B holds other sessions of the id, so it follows the id from its own, older, position):
// what a load balancer does to a reconnecting page. It must get N+1 next, nothing at or below N.

/** Rounds per protocol: each one races a reconnect against B's feed. */
const ROUNDS = 5;
/** Alarms published through A before each reconnect, so B is several behind. */
const BURST = 3;

/** Publishes `BURST` alarms to `id` through `m`; the last seq. */
async function burst(m: Member, id: string): Promise<number> {
  let seq = 0;
  for (let i = 0; i < BURST; i++) {
    const res = await publish(m, id, { i });
    assertEquals(res.status, 202);
    seq = res.json.seq;
  }
  return seq;
}

/** The seq of the first alarm a socket receives after its welcome (v1) or at once (legacy). */
async function firstAlarm(client: TestClient, v1: boolean): Promise<number> {
  for (;;) {
    const frame = await client.nextJson();
    if (!v1) return frame.seq;
    if (frame.type === "alarm") return frame.alarm.seq;
  }
}

/** The next `welcome` event of `stream` (after the retry advice). */
async function welcome(stream: SseClient): Promise<SseEvent> {
  for (;;) {
    const event = await stream.next();
    if (event.event === "welcome") return event;
  }
}

async function resumeOnAnother(a: Member, b: Member): Promise<void> {
  // B holds sessions of every id used, so it has a position of its own on each.
  await hold(b, ["legacy", "v1", "sse", "m1", "m2"]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const v1 of [false, true]) {
      const id = v1 ? "v1" : "legacy";
      const seen = await burst(a, id);
      await using client = await TestClient.open(
        `${b.ws}/websocket/${id}?since=${seen}`,
        v1 ? "alarms.v1" : undefined,
      );
      if (v1) {
        const welcome = await client.nextJson();
        assertEquals(welcome.type, "welcome");
        assertEquals(welcome.seq >= seen, true, `welcome seq ${welcome.seq} is below ${seen}`);
      }
      const next = (await publish(a, id, { next: round })).json.seq;
      assertEquals(
        await firstAlarm(client, v1),
        next,
        `${id} round ${round}: resumed after ${seen}`,
      );
    }

    const seen = await burst(a, "sse");
    await using stream = await SseClient.open(`${b.http}/events/sse`, {
      "last-event-id": String(seen),
    });
    assertEquals((await welcome(stream)).id, String(seen));
    const next = (await publish(a, "sse", { next: round })).json.seq;
    assertEquals((await stream.nextAlarm()).alarm.seq, next, `sse round ${round}`);

    const seen1 = await burst(a, "m1");
    const seen2 = await burst(a, "m2");
    const cursor = `m1=${seen1},m2=${seen2}`;
    await using multi = await SseClient.open(`${b.http}/events?id=m1&id=m2`, {
      "last-event-id": cursor,
    });
    await welcome(multi); // m1's
    assertEquals((await welcome(multi)).id, cursor, "the welcomes leave the cursor where it was");
    const next1 = (await publish(a, "m1", { next: round })).json.seq;
    const got1 = await multi.nextAlarm();
    assertEquals([got1.alarm.target, got1.alarm.seq], ["m1", next1], `multi round ${round}`);
    const next2 = (await publish(a, "m2", { next: round })).json.seq;
    const got2 = await multi.nextAlarm();
    assertEquals([got2.alarm.target, got2.alarm.seq], ["m2", next2], `multi round ${round}`);
    assertEquals(got2.id, `m1=${next1},m2=${next2}`);
  }
  // B's own sessions saw every alarm once, in order, all along.
  for (const id of ["legacy", "v1", "sse", "m1", "m2"]) {
    await assertAllReceived([b], id, ROUNDS * (BURST + 1));
  }
}

Deno.test("resume on another process (one SQLite file): since, Last-Event-ID and cursors are exact", async () => {
  const dir = await Deno.makeTempDir();
  const fleet = await startFleet(2, { KV_PATH: `${dir}/kv.sqlite3` });
  try {
    await resumeOnAnother(fleet[0]!, fleet[1]!);
  } finally {
    await stopFleet(fleet);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "resume on another process (a real denokv): since, Last-Event-ID and cursors are exact",
  ignore: DENOKV === undefined,
  async fn() {
    await using kv = await DenoKv.start(DENOKV!, freePort());
    const fleet = await startFleet(2, { KV_PATH: kv.url, DENO_KV_ACCESS_TOKEN: kv.token });
    try {
      await resumeOnAnother(fleet[0]!, fleet[1]!);
    } finally {
      await stopFleet(fleet);
    }
  },
});
