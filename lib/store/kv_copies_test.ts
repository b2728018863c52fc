import { assertEquals } from "@std/assert";
import type { Condition } from "../core/mod.ts";
import { KvCopies } from "./kv_copies.ts";
import { decodeCondition } from "./conditions.ts";
import { condKey } from "./schema.ts";

function condition(key: string, count: number): Condition {
  return {
    id: "p",
    key,
    state: "active-unacknowledged",
    count,
    firstTime: 0,
    lastTime: count,
    alarm: { id: `a${count}` },
    raiseSeq: count,
    firstSeq: 1,
    seq: count,
    recent: [],
  };
}

Deno.test("kv copies: each condition at its latest state, in a few commits, in order", async () => {
  using kv = await Deno.openKv(":memory:");
  let commits = 0;
  const counted = Object.assign(Object.create(kv), {
    atomic() {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => (commits++, commit());
      return op;
    },
  });
  const copies = new KvCopies(counted, 60_000);
  // A burst of raises of three conditions, then an operator's change that waits for its write.
  for (let n = 1; n <= 300; n++) void copies.condition(condition(`k${n % 3}`, n));
  await copies.condition({ ...condition("k0", 301), state: "active-acknowledged" });
  const read = async (key: string) => decodeCondition((await kv.get(condKey("p", key))).value);
  assertEquals((await read("k0"))?.state, "active-acknowledged");
  assertEquals([(await read("k1"))?.count, (await read("k2"))?.count], [298, 299]);
  assertEquals(commits <= 2, true, `${commits} commits`);
});

Deno.test("kv copies: a failed batch's copies go again with the next one, a later state winning", async () => {
  using kv = await Deno.openKv(":memory:");
  let failing = true;
  const flaky = Object.assign(Object.create(kv), {
    atomic() {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => failing ? Promise.reject(new Error("KV is down")) : commit();
      return op;
    },
  });
  const copies = new KvCopies(flaky, 60_000);
  const acked = { ...condition("k0", 2), state: "active-acknowledged" } as const;
  let refused = false;
  await copies.condition(acked).catch(() => refused = true);
  assertEquals(refused, true); // its caller hears of it
  const shelved = { ...condition("k2", 1), state: "active-acknowledged" } as const;
  await copies.condition(shelved).catch(() => {});
  failing = false;
  // The next changes, of another condition and a later state of k2: all land, k0 as it was
  // acknowledged, k2 as it is now.
  await Promise.all([
    copies.condition(condition("k1", 5)),
    copies.condition({ ...condition("k2", 2), state: "cleared-unacknowledged" }),
  ]);
  const read = async (key: string) => decodeCondition((await kv.get(condKey("p", key))).value);
  assertEquals((await read("k0"))?.state, "active-acknowledged");
  assertEquals((await read("k1"))?.count, 5);
  assertEquals((await read("k2"))?.state, "cleared-unacknowledged");
});
