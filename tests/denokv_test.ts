import { assert, assertEquals, assertLess } from "@std/assert";
import { DENOKV, DenoKv } from "./support/denokv.ts";
import { freePort } from "./support/ports.ts";
import {
  crossProcessProof,
  hold,
  type Member,
  PROCESSES,
  publish,
  start,
  startFleet,
  stopFleet,
} from "./support/fleet.ts";
import { assertAnsweredWithin, assertStoredOnce, publishSteadily } from "./support/steady.ts";
import { healthy, waitFor } from "./support/wait.ts";

function denokvTest(name: string, fn: (kv: DenoKv, fleet: Member[]) => Promise<void>): void {
  Deno.test({
    name,
    ignore: DENOKV === undefined,
    async fn() {
      await using kv = await DenoKv.start(DENOKV!, freePort());
      const fleet = await startFleet(PROCESSES, {
        KV_PATH: kv.url,
        DENO_KV_ACCESS_TOKEN: kv.token,
      });
      try {
        await fn(kv, fleet);
      } finally {
        await stopFleet(fleet);
      }
    },
  });
}

denokvTest("KV Connect to a real denokv: three processes, live, gap-free", async (_, fleet) => {
  await crossProcessProof(fleet, "feed");
});

denokvTest(
  "denokv killed and restarted: 503 meanwhile, nothing accepted lost",
  async (kv, fleet) => {
    const [a, b] = fleet as [Member, Member];
    await hold(b, ["outage"]);
    const accepted: number[] = [];
    for (let i = 0; i < 3; i++) accepted.push((await publish(a, "outage", { i })).json.seq);

    await kv.kill();
    const started = Date.now();
    const refused = await publish(a, "outage", { during: true });
    assertEquals([refused.status, refused.json.error.code], [503, "store_unavailable"]);
    assertLess(Date.now() - started, 5000, "the 503 came within the store deadline");
    const unhealthy = await fetch(`${a.http}/healthz`);
    await unhealthy.body?.cancel();
    assertEquals(unhealthy.status, 503);

    await kv.resume();
    // Recovers by itself: publishes succeed again, and every alarm that got a 202 arrives.
    let after: { status: number; json: { seq: number } } | undefined;
    await waitFor(
      async () => (after = await publish(a, "outage", { after: true })).status === 202,
      30_000,
    );
    accepted.push(after!.json.seq);
    await healthy(a.http, 15_000);
    const head = after!.json.seq;
    const socket = [...b.received].find(([key]) => key.endsWith("/outage"))![1];
    await waitFor(() => socket.length >= head, 15_000).catch(() => {});
    // Contiguous from 1 (an alarm refused with 503 may still have been stored by KV Connect's
    // own retry: then it is delivered too, never half).
    assertEquals(socket, Array.from({ length: head }, (_, i) => i + 1));
    for (const seq of accepted) assert(socket.includes(seq), `accepted seq ${seq} not delivered`);
  },
);

Deno.test({
  name:
    "denokv frozen, thawed, killed and restarted under a steady publish rate: every answer within STORE_TIMEOUT_SECONDS, each alarm stored once",
  ignore: DENOKV === undefined,
  async fn() {
    await using kv = await DenoKv.start(DENOKV!, freePort());
    // STORE_TIMEOUT_SECONDS=2, as every fleet process has.
    const a = await start({ KV_PATH: kv.url, DENO_KV_ACCESS_TOKEN: kv.token });
    try {
      let restarted: Promise<void> | undefined;
      // 10 publishes a second for 12 s: 2 s served, 4 s frozen, 1 s back, 3 s killed, back.
      const answers = await publishSteadily(`${a.http}/api/alarms/steady`, 100, 120, (n) => {
        if (n === 20) kv.freeze();
        if (n === 60) kv.thaw();
        if (n === 70) void kv.kill();
        if (n === 100) restarted = kv.resume();
      });
      await restarted;
      assertAnsweredWithin(answers, 2000 + 500);
      const statuses = answers.map((a) => a.status);
      assertEquals(statuses.slice(0, 20), statuses.slice(0, 20).map(() => 202));
      assert(statuses.slice(20, 60).includes(503), "the freeze was noticed");
      assert(statuses.slice(70, 100).includes(503), "the outage was noticed");
      await assertStoredOnce(a.http, "steady", answers);
    } finally {
      await stopFleet([a]);
    }
  },
});
