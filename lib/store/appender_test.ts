import { assertEquals } from "@std/assert";
import { prepareAlarm } from "../core/mod.ts";
import { Appender, batchSize, type Planned } from "./appender.ts";
import type { KvLike } from "./call_timeout.ts";
import { KV_CONNECT_COMMITS } from "./open.ts";
import { ARRIVAL_KEY, bucketOf } from "./schema.ts";

const alarm = (target: string, key?: string, bytes = 200): Planned => ({
  target,
  idemKey: key === undefined ? undefined : ["idem", target, key],
  bytes,
});
const many = (n: number, make: (i: number) => Planned) =>
  Array.from({ length: n }, (_, i) => make(i));

Deno.test("a batch takes as many keyed publishes to one id as the checks allow", () => {
  // One id: its head and its bucket's, one per key, one kept for the arrival record.
  const keyed = many(20, (i) => alarm("plant-3", `k${i}`));
  assertEquals(batchSize(keyed, { maxChecks: 10 }), 7); // a self-hosted denokv: 10 checks
  assertEquals(batchSize(keyed, { maxChecks: 100 }), 20);
  // A key repeated in the queue is checked once.
  assertEquals(batchSize(many(20, () => alarm("plant-3", "same")), { maxChecks: 10 }), 20);
});

Deno.test("a batch stops at 100 alarms, at 512 KiB, and never leaves the first behind", () => {
  assertEquals(batchSize(many(150, () => alarm("plant-3")), { maxChecks: 100 }), 100);
  assertEquals(
    batchSize(many(5, () => alarm("plant-3", undefined, 200 * 1024)), { maxChecks: 100 }),
    2,
  );
  assertEquals(
    batchSize([alarm("plant-3", "a", 900 * 1024), alarm("plant-3")], { maxChecks: 100 }),
    1,
  );
  assertEquals(batchSize([alarm("plant-3", "a", 900 * 1024)], { maxChecks: 3 }), 1);
  assertEquals(batchSize([], { maxChecks: 100 }), 0);
});

Deno.test("a batch to many ids counts each id's head and each distinct bucket once", () => {
  const targets = Array.from({ length: 200 }, (_, i) => `id-${i}`);
  const n = batchSize(targets.map((t) => alarm(t)), { maxChecks: 100 });
  const taken = targets.slice(0, n);
  const checks = taken.length + new Set(taken.map(bucketOf)).size + 1;
  assertEquals(checks <= 100, true);
  const next = targets[n]!;
  const more = checks + 1 + (taken.some((t) => bucketOf(t) === bucketOf(next)) ? 0 : 1);
  assertEquals(more > 100, true, "the next id would not have fitted");
});

Deno.test("over KV Connect a commit carries at most two small alarms: its request stays in one write", () => {
  const small = many(10, (i) => alarm(`id-${i}`, undefined, 600));
  assertEquals(batchSize(small, KV_CONNECT_COMMITS), 2);
  // Two that together pass the byte budget go one at a time; a large one goes alone.
  assertEquals(batchSize(many(3, (i) => alarm(`id-${i}`, undefined, 700)), KV_CONNECT_COMMITS), 1);
  assertEquals(batchSize([alarm("a", undefined, 90_000), alarm("b")], KV_CONNECT_COMMITS), 1);
});

Deno.test("a newcomer arriving while a fenced batch reads: the batch starts again and writes the feed", async () => {
  using kv = await Deno.openKv(":memory:");
  let gate: PromiseWithResolvers<void> | undefined;
  const reading = Promise.withResolvers<void>();
  const slow: KvLike = {
    get: kv.get.bind(kv),
    list: kv.list.bind(kv),
    set: kv.set.bind(kv),
    delete: kv.delete.bind(kv),
    atomic: kv.atomic.bind(kv),
    watch: kv.watch.bind(kv),
    close: kv.close.bind(kv),
    getMany: async (keys, options) => {
      if (gate) {
        reading.resolve();
        await gate.promise;
      }
      return kv.getMany(keys, options);
    },
  };
  const appender = new Appender(slow, { count: 100, ageMs: 3600_000 }, 5000);
  const { versionstamp } = await kv.set(ARRIVAL_KEY, "A");
  appender.fence({ key: ARRIVAL_KEY, value: "A", versionstamp }); // alone: no feed
  gate = Promise.withResolvers();
  // A new id: its head is read, so the batch awaits between deciding and committing.
  const appended = appender.append("plant-3", prepareAlarm({ message: "x" }, 0));
  await reading.promise;
  appender.fence(undefined); // a newcomer arrived
  gate.resolve();
  gate = undefined;
  const result = await appended;
  assertEquals(result.duplicate ? 0 : result.alarm.seq, 1);
  const fed = await Array.fromAsync(kv.list<{ target: string; seq: number }>({ prefix: ["feed"] }));
  assertEquals(
    fed.flatMap((e) => typeof e.value === "object" && "target" in e.value ? [e.value] : []),
    [{ target: "plant-3", seq: 1 }],
  );
});
