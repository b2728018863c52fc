import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  type ConditionChange,
  Conflict,
  entryFrames,
  entryJson,
  NotFound,
  prepareAlarm,
  StoreError,
} from "../core/mod.ts";
import { MAX_IDEMPOTENCY_KEYS } from "./memory_log.ts";
import { bucketOf } from "./schema.ts";
import type { KvLike } from "./call_timeout.ts";
import { KV_CONNECT_COMMITS, storeOptionsFor } from "./open.ts";
import { AlarmStore } from "./store.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const RETENTION = { count: 1000, ageMs: 3600_000 };

function alarm(fields: Record<string, unknown> = {}) {
  return prepareAlarm(fields, NOW);
}

async function withFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(`${dir}/kv.sqlite3`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("seq is strictly increasing and gap-free under concurrent writers on one file", async () => {
  await withFile(async (path) => {
    // Two handles on one SQLite file stand in for two isolates.
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const a = new AlarmStore(kvA, RETENTION);
    const b = new AlarmStore(kvB, RETENTION);
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).append("hot", alarm({ i }))),
    );
    const seqs = results.map((r) => r.duplicate ? -1 : r.alarm.seq).sort((x, y) => x - y);
    assertEquals(seqs, Array.from({ length: 120 }, (_, i) => i + 1));
    const stored = await a.read("hot", 0, 1000);
    assertEquals(stored.map((x) => x.seq), seqs);
    assertEquals(await b.head("hot"), 120);
  });
});

Deno.test("the change feed: one entry per id per commit, numbered without gaps", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, RETENTION);
  await Promise.all(["a", "b", "a", "c"].map((t) => store.append(t, alarm())));
  const heads = await store.feedHeads();
  const entries = (await Promise.all(heads.map((_, b) => store.readFeed(b, 0)))).flat();
  // Each entry says "read up to here"; every id's last seq is named, and numbers start at 1.
  const last = new Map(entries.flatMap((e) => "seq" in e ? [[e.target, e.seq]] : []));
  assertEquals(Object.fromEntries(last), { a: 2, b: 1, c: 1 });
  for (const [b, head] of heads.entries()) {
    const numbers = entries.filter((e) => bucketOf(e.target) === b).map((e) => e.n);
    assertEquals(numbers, Array.from({ length: head }, (_, i) => i + 1));
  }
});

Deno.test("alone, commits skip the feed; the first commit after a newcomer arrives writes it", async () => {
  await withFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const a = new AlarmStore(kvA, RETENTION);
    const b = new AlarmStore(kvB, RETENTION);
    await a.announceArrival("A");
    a.stopFeedWrites();
    await a.append("z", alarm());
    await a.append("z", alarm());
    assertEquals((await a.feedHeads()).reduce((x, y) => x + y), 0);
    await b.announceArrival("B"); // a newcomer; A has not noticed yet
    await a.append("z", alarm());
    const bucket = bucketOf("z");
    const entries = await b.readFeed(bucket, 0);
    assertEquals(entries.map((e) => "seq" in e && [e.target, e.seq]), [["z", 3]]);
  });
});

Deno.test("acks keep the highest seq, each announced on the feed in its own commit", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, RETENTION);
  assertEquals(await store.acked("t"), null);
  const message = { event: { type: "ack", id: "t", seq: 5 }, except: "", origin: "test" };
  await store.ack("t", 5, message);
  await store.ack("t", 3, { ...message, event: { type: "ack", id: "t", seq: 3 } });
  assertEquals(await store.acked("t"), 5);
  const bucket = bucketOf("t");
  const entries = await store.readFeed(bucket, 0);
  assertEquals(entries.map((e) => "message" in e && e.message.event), [
    { type: "ack", id: "t", seq: 5 },
    { type: "ack", id: "t", seq: 3 },
  ]);
});

Deno.test("a failing store raises StoreError", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, RETENTION);
  kv.close();
  await assertRejects(() => store.append("t", alarm()), StoreError);
  await assertRejects(() => store.read("t", 0, 1), StoreError);
  await assertRejects(() => store.head("t"), StoreError);
});

// The same contract for the log on KV and the log in memory.
for (const log of ["kv", "memory"] as const) {
  Deno.test(`${log} log: retention keeps the newest alarms per target`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, { count: 3, ageMs: 60_000 }, { log });
    for (let i = 1; i <= 5; i++) await store.append("t", alarm({ i }));
    await store.append("other", alarm());
    assertEquals((await store.read("t", 0, 100)).map((a) => a.i), [3, 4, 5]);
    assertEquals((await store.read("t", 3, 100)).map((a) => a.seq), [4, 5]);
    assertEquals((await store.read("t", 0, 2)).map((a) => a.seq), [3, 4]);
    assertEquals(await store.head("t"), 5);
    assertEquals((await store.read("other", 0, 100)).length, 1);
    // Past the last seq there can be: nothing, not a range KV refuses.
    assertEquals(await store.read("t", Number.MAX_SAFE_INTEGER, 100), []);
  });

  Deno.test(`${log} log: an idempotency key returns the original alarm and stores nothing`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    const first = await store.append("t", alarm({ id: "e1" }), "key:k1");
    assert(!first.duplicate);
    const again = await store.append("t", alarm({ id: "e2" }), "key:k1");
    assertEquals(again, { duplicate: true, id: "e1", seq: 1 });
    // The same key on another target is another alarm.
    const elsewhere = await store.append("u", alarm({ id: "e1" }), "key:k1");
    assertEquals(elsewhere.duplicate, false);
    // Concurrent duplicates: exactly one is stored.
    const racing = await Promise.all([1, 2, 3, 4].map(() => store.append("t", alarm(), "key:k2")));
    assertEquals(racing.filter((r) => !r.duplicate).length, 1);
    assertEquals(await store.head("t"), 2);
  });

  Deno.test(`${log} log: an alarm larger than one KV value is split and read back whole`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    const big = "€".repeat(21_000); // 63,000 bytes of UTF-8
    await store.append("t", alarm({ big }));
    await store.append("t", alarm({ small: 1 }));
    const [first, second] = await store.read("t", 0, 10);
    assertEquals(first?.big, big);
    assertEquals(second?.small, 1);
    // A page cut in the middle of a split alarm returns only whole alarms.
    assertEquals((await store.read("t", 0, 1)).map((a) => a.seq), [1]);
  });

  Deno.test(`${log} log: group commit: concurrent appends to many ids are batched and stay gap-free per id`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    // 250 ids × 4 alarms, all at once: more ids than one atomic operation may check (100), and
    // more heads to read than one getMany takes (10).
    const ids = Array.from({ length: 250 }, (_, i) => `t${i}`);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.append(ids[i % 250]!, alarm({ i }))),
    );
    for (const id of ids) {
      const seqs = results.flatMap((
        r,
      ) => (!r.duplicate && r.alarm.target === id ? [r.alarm.seq] : []));
      assertEquals(seqs.sort((a, b) => a - b), [1, 2, 3, 4], id);
      assertEquals(
        (await store.read(id, 0, 100)).map((a) => a.i),
        results.flatMap((r) => !r.duplicate && r.alarm.target === id ? [r.alarm.i] : []),
      );
    }
  });

  Deno.test(`${log} log: group commit: the same idempotency key twice in one batch stores one alarm`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    const [a, b, c] = await Promise.all([
      store.append("t", alarm({ n: 1 }), "key:same"),
      store.append("t", alarm({ n: 2 }), "key:same"),
      store.append("t", alarm({ n: 3 })),
    ]);
    assert(!a!.duplicate);
    assertEquals(b, { duplicate: true, id: a!.alarm.id, seq: 1 });
    assertEquals(c!.duplicate ? 0 : c!.alarm.seq, 2);
    assertEquals((await store.read("t", 0, 10)).map((x) => x.n), [1, 3]);
  });
}

Deno.test("memory log: age retention and idempotency keys expire with the clock", async () => {
  using kv = await Deno.openKv(":memory:");
  let now = NOW;
  const store = new AlarmStore(kv, { count: 100, ageMs: 60_000 }, {
    log: "memory",
    now: () => now,
  });
  await store.append("t", alarm({ n: 1 }), "key:a");
  now += 30_000;
  await store.append("t", alarm({ n: 2 }));
  now += 40_000; // the first is 70 s old, the second 40 s
  assertEquals((await store.read("t", 0, 10)).map((a) => a.n), [2]);
  assertEquals(await store.head("t"), 2);
  // The key expired with its alarm: the same key stores a new alarm, with the next seq.
  const again = await store.append("t", alarm({ n: 3 }), "key:a");
  assertEquals(again.duplicate ? 0 : again.alarm.seq, 3);
  now += 120_000;
  assertEquals(await store.read("t", 0, 10), []);
  assertEquals(await store.head("t"), 3);
});

Deno.test("memory log: reads after a long run see only the newest count, from any cursor", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, { count: 50, ageMs: 60_000 }, { log: "memory" });
  for (let i = 1; i <= 500; i++) await store.append("t", alarm({ i }));
  assertEquals((await store.read("t", 0, 1000)).map((a) => a.seq)[0], 451);
  assertEquals((await store.read("t", 0, 1000)).length, 50);
  assertEquals((await store.read("t", 480, 5)).map((a) => a.seq), [481, 482, 483, 484, 485]);
  assertEquals(await store.read("t", 500, 5), []);
  assertEquals(await store.read("none", 0, 5), []);
});

Deno.test("memory log: idempotency keys are bounded, oldest forgotten first", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, { count: 10, ageMs: 3600_000 }, { log: "memory" });
  for (let i = 0; i <= MAX_IDEMPOTENCY_KEYS; i++) {
    await store.append(`t${i % 100}`, alarm({ i }), `key:${i}`);
  }
  // The newest key still answers with its original alarm (the last one of its target).
  const last = MAX_IDEMPOTENCY_KEYS;
  const [original] = await store.read(
    `t${last % 100}`,
    (await store.head(`t${last % 100}`)) - 1,
    1,
  );
  assertEquals(original?.i, last);
  assertEquals(await store.append(`t${last % 100}`, alarm(), `key:${last}`), {
    duplicate: true,
    id: original!.id,
    seq: original!.seq,
  });
  // Key 0 was the oldest when the bound was passed: a retry with it is stored again.
  assertEquals((await store.append("t0", alarm(), "key:0")).duplicate, false);
});

/** `kv` with its atomic operations made by `atomic` (which wraps `kv.atomic()`). */
function withAtomic(kv: Deno.Kv, atomic: () => Deno.AtomicOperation): KvLike {
  return {
    get: (key, options) => kv.get(key, options),
    getMany: (keys, options) => kv.getMany(keys, options),
    list: (selector, options) => kv.list(selector, options),
    set: (key, value, options) => kv.set(key, value, options),
    delete: (key) => kv.delete(key),
    watch: (keys, options) => kv.watch(keys, options),
    close: () => kv.close(),
    atomic,
  };
}

Deno.test("commits to a KV Connect URL carry at most 10 checks, however many appends wait", async () => {
  assertEquals(storeOptionsFor("http://127.0.0.1:4512"), { commits: KV_CONNECT_COMMITS });
  assertEquals(storeOptionsFor("data/kv.sqlite3"), { pollMs: 200 });
  using kv = await Deno.openKv(":memory:");
  // What a denokv does with an 11th check: refuse the whole operation.
  const most: number[] = [];
  const strict = withAtomic(kv, () => {
    const op = kv.atomic();
    let checks = 0;
    const check = op.check.bind(op);
    const commit = op.commit.bind(op);
    op.check = (...c) => (checks += c.length, check(...c));
    op.commit = () => {
      most.push(checks);
      if (checks > 10) throw new Error("Too many checks included in atomic write");
      return commit();
    };
    return op;
  });
  const store = new AlarmStore(strict, RETENTION, storeOptionsFor("http://127.0.0.1:4512"));
  // 60 appends at once, each with its own idempotency key, across 20 ids.
  const appended = await Promise.all(
    Array.from({ length: 60 }, (_, i) => store.append(`id-${i % 20}`, alarm({ i }), `key-${i}`)),
  );
  assertEquals(appended.filter((a) => !a.duplicate).length, 60);
  assert(Math.max(...most) <= 10, `${Math.max(...most)} checks`);
  assert(most.length < 60, "appends were still batched");
});

/**
 * A KV handle whose commits wait for `gate`, then take a turn of the event loop (a round trip),
 * counted while open.
 */
function slowCommits(kv: Deno.Kv, gate: Promise<void> = Promise.resolve()) {
  const seen = { most: 0, inFlight: 0, overlap: false };
  const open = new Set<string>();
  const handle = withAtomic(kv, () => {
    const op = kv.atomic();
    const heads: string[] = [];
    const set = op.set.bind(op);
    const commit = op.commit.bind(op);
    op.set = (key, value, options) => {
      if (key[0] === "head") heads.push(String(key[1]));
      return set(key, value, options);
    };
    op.commit = async () => {
      seen.most = Math.max(seen.most, ++seen.inFlight);
      for (const id of heads) seen.overlap ||= open.has(id);
      for (const id of heads) open.add(id);
      await gate;
      await new Promise((resolve) => setTimeout(resolve, 0));
      try {
        return await commit();
      } finally {
        seen.inFlight--;
        for (const id of heads) open.delete(id);
      }
    };
    return op;
  });
  return { handle, seen };
}

Deno.test("alone over KV Connect, commits to different ids go at once, each id's in order", async () => {
  for (const alone of [true, false]) {
    using kv = await Deno.openKv(":memory:");
    const { handle, seen } = slowCommits(kv);
    const store = new AlarmStore(handle, RETENTION, storeOptionsFor("http://127.0.0.1:4512"));
    await store.announceArrival("A");
    if (alone) store.stopFeedWrites();
    const appended = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.append(`id-${i % 10}`, alarm({ i }))),
    );
    // Each id's alarms took their seqs in the order they were appended.
    for (const [i, a] of appended.entries()) {
      assertEquals(a.duplicate ? 0 : a.alarm.seq, Math.floor(i / 10) + 1, `alarm ${i}`);
    }
    assertEquals(seen.overlap, false, "two commits in flight wrote one id");
    if (alone) assert(seen.most > 1 && seen.most <= 8, `${seen.most} in flight`);
    else assertEquals(seen.most, 1, "every commit moves a feed head: one at a time");
  }
});

Deno.test("commits in flight when a newcomer arrives all write the feed: it misses nothing", async () => {
  await withFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const gate = Promise.withResolvers<void>();
    const { handle, seen } = slowCommits(kvA, gate.promise);
    const a = new AlarmStore(handle, RETENTION, storeOptionsFor("http://127.0.0.1:4512"));
    const b = new AlarmStore(kvB, RETENTION);
    await a.announceArrival("A");
    a.stopFeedWrites();
    const appends = Array.from({ length: 16 }, (_, i) => a.append(`id-${i % 8}`, alarm({ i })));
    await b.announceArrival("B"); // while A's first commits are in flight
    gate.resolve();
    await Promise.all(appends);
    assert(seen.most > 1, `${seen.most} in flight`);
    const heads = await b.feedHeads();
    const fed = new Set<string>();
    for (const bucket of heads.keys()) {
      for (const e of await b.readFeed(bucket, 0)) {
        if ("seq" in e) fed.add(`${e.target} ${e.seq}`);
      }
    }
    for (let id = 0; id < 8; id++) {
      assertEquals(await b.head(`id-${id}`), 2);
      for (const seq of [1, 2]) assert(fed.has(`id-${id} ${seq}`), `id-${id} ${seq} on the feed`);
    }
  });
});

for (const log of ["kv", "memory"] as const) {
  Deno.test(`${log} log: an escalation deadline is stored with its alarm, once, not for a repeat`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    const due = { at: NOW + 60_000, policy: "boilers" };
    const first = await store.append("plant-3", alarm(), "key-1", due);
    const again = await store.append("plant-3", alarm(), "key-1", due);
    assertEquals([first.duplicate, again.duplicate], [false, true]);
    const records = await Array.fromAsync(
      kv.list<{ seq: number; policy: string }>({ prefix: ["due"] }),
    );
    assertEquals(records.map((r) => [r.value.seq, r.value.policy]), [[1, "boilers"]]);
  });
}

Deno.test("a condition changed by another writer is never acted on from a stale copy", async () => {
  await withFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const a = new AlarmStore(kvA, RETENTION);
    const b = new AlarmStore(kvB, RETENTION);
    const raise = (store: AlarmStore, key: string) =>
      store.append("p", alarm({ key }), undefined, undefined, {
        key,
        change: { action: "raise", alarm: { key } },
        at: 0,
      });
    const change = (store: AlarmStore, key: string, what: ConditionChange) =>
      store.append(
        "p",
        {
          fields: { id: crypto.randomUUID(), createTime: 0, transition: { key } },
          bytes: 100,
        },
        undefined,
        undefined,
        {
          key,
          change: what,
          at: 0,
        },
      );
    await raise(a, "k1");
    await change(a, "k1", { action: "acknowledge", by: "a" }); // a remembers k1 acknowledged
    await change(b, "k1", { action: "clear", by: "b" }); // k1 is normal now, by b
    await raise(a, "k2"); // a's head was stale: it reads it again, and forgets what it cached
    const shelve = change(a, "k1", {
      action: "shelve",
      by: "a",
      reason: "r",
      until: 1000,
      untilCleared: false,
    });
    const refused = await assertRejects(() => shelve, Conflict);
    assertEquals(refused.code, "not_in_list");
    assertEquals((await b.condition("p", "k1"))?.state, "normal");
  });
});

Deno.test("a keyed raise's entry and record read back as committed, framed as stored", async () => {
  await withFile(async (path) => {
    using kv = await Deno.openKv(path);
    const store = new AlarmStore(kv, RETENTION);
    const raise = (fields: Record<string, unknown>) => {
      const prepared = alarm({ key: "k", ...fields });
      return store.append("p", prepared, undefined, undefined, {
        key: "k",
        change: { action: "raise", alarm: prepared.fields },
        at: NOW,
      });
    };
    await raise({ message: "first" });
    const appended = await raise({ message: 'again \u2028 "quoted"' });
    assert(!appended.duplicate && appended.condition);
    assertEquals(appended.condition.count, 2);
    // The record as read by another handle (no cache) is the condition as committed.
    using other = await Deno.openKv(path);
    assertEquals(await new AlarmStore(other, RETENTION).condition("p", "k"), appended.condition);
    const [, second] = await new AlarmStore(other, RETENTION).read("p", 0, 10);
    assertEquals(second, appended.alarm);
    assertEquals(entryJson(entryFrames(second!)), JSON.stringify(appended.alarm));
    // A keyless entry read back is framed from its stored text.
    const keyless = await store.append("p", alarm({ message: "plain" }));
    assert(!keyless.duplicate);
    const [read] = await new AlarmStore(other, RETENTION).read("p", 2, 10);
    assertEquals(entryFrames(read!).alarm, JSON.stringify(keyless.alarm));
  });
});

for (const log of ["kv", "memory"] as const) {
  Deno.test(`${log} log: a repeat carries its episode's deadline, and a long alarm is kept whole`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, RETENTION, { log });
    const raise = (fields: Record<string, unknown>, at: number) => {
      const prepared = alarm({ key: "k", ...fields });
      const due = typeof fields.ackBy === "string"
        ? { at: Date.parse(fields.ackBy), policy: "boilers" }
        : undefined;
      return store.append("p", prepared, undefined, due, {
        key: "k",
        change: { action: "raise", alarm: prepared.fields },
        at,
      });
    };
    const ackBy = (s: number) => new Date(NOW + s * 1000).toISOString();
    const first = await raise({ ackBy: ackBy(60) }, NOW);
    // A policy stamps every raise; a repeat's deadline would never be written, so it isn't shown.
    const repeat = await raise({ ackBy: ackBy(70) }, NOW + 10_000);
    const long = await raise({ ackBy: ackBy(80), message: "m".repeat(19_000) }, NOW + 20_000);
    assert(!first.duplicate && !repeat.duplicate && !long.duplicate);
    assertEquals([repeat.alarm.ackBy, long.alarm.ackBy], [ackBy(60), ackBy(60)]);
    assertEquals(long.condition?.alarm.message, "m".repeat(19_000));
    assertEquals((await store.condition("p", "k"))?.alarm.message, "m".repeat(19_000));
    const dues = await Array.fromAsync(kv.list<{ seq: number }>({ prefix: ["due"] }));
    assertEquals(dues.map((d) => d.value.seq), [1]);
    // Longer than a record keeps: its identity, level and deadline stay, in both stores alike.
    const longer = await raise({ level: "critical", message: "m".repeat(21_000) }, NOW + 30_000);
    assert(!longer.duplicate);
    assertEquals((await store.condition("p", "k"))?.alarm, {
      truncated: true,
      id: longer.alarm.id,
      createTime: longer.alarm.createTime,
      seq: 4,
      target: "p",
      key: "k",
      level: "critical",
    });
    assertEquals((await store.read("p", 3, 1))[0]?.message, "m".repeat(21_000));
  });
}

for (const log of ["kv", "memory"] as const) {
  Deno.test(`${log} log: a condition back to normal is forgotten with its entries; an active one is kept`, async () => {
    using kv = await Deno.openKv(":memory:");
    // KV deletes expired records a minute or so later: what is asserted is the expiry set.
    const expiries = new Map<string, number | undefined>();
    const watched = withAtomic(kv, () => {
      const op = kv.atomic();
      const set = op.set.bind(op);
      op.set = (key, value, options) => {
        if (key[0] === "cond") expiries.set(String(key[2]), options?.expireIn);
        return set(key, value, options);
      };
      return op;
    });
    let now = NOW;
    const ageMs = 60_000;
    const store = new AlarmStore(watched, { count: 1000, ageMs }, { log, now: () => now });
    const change = (key: string, action: "raise" | "clear" | "acknowledge") =>
      store.append("p", alarm({ key }), undefined, undefined, {
        key,
        change: action === "raise"
          ? { action, alarm: alarm({ key }).fields }
          : { action, by: "op" },
        at: now,
      });
    for (const key of ["done", "open"]) await change(key, "raise");
    await change("done", "clear");
    await change("done", "acknowledge"); // normal
    assertEquals((await store.conditions("p")).map((c) => [c.key, c.state]).sort(), [
      ["done", "normal"],
      ["open", "active-unacknowledged"],
    ]);
    assertEquals(Object.fromEntries(expiries), { done: ageMs, open: undefined });
    await change("done", "raise"); // active again: kept for good
    // The memory log writes a raise's copy in order, without holding up the answer.
    for (let i = 0; i < 100 && expiries.get("done") !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertEquals(expiries.get("done"), undefined);
    await change("done", "clear");
    await change("done", "acknowledge");
    // Past retention, acting on it is acting on a key never raised, whatever is still cached.
    now += ageMs + 1;
    await assertRejects(() => change("done", "acknowledge"), NotFound);
    if (log === "memory") {
      // The memory log forgets on its own clock, whatever reads it.
      assertEquals((await store.conditions("p")).map((c) => c.key), ["open"]);
      assertEquals(await store.condition("p", "done"), undefined);
    }
  });
}

// A raise, clear or acknowledgement of condition `key` of "p".
function conditionChange(
  store: AlarmStore,
  key: string,
  action: "raise" | "clear" | "acknowledge",
) {
  return store.append("p", alarm({ key }), undefined, undefined, {
    key,
    change: action === "raise" ? { action, alarm: alarm({ key }).fields } : { action, by: "op" },
    at: NOW,
  });
}

for (const log of ["kv", "memory"] as const) {
  Deno.test(`${log} log: an id's active list holds at most its limit; leaving it makes room`, async () => {
    using kv = await Deno.openKv(":memory:");
    const store = new AlarmStore(kv, { ...RETENTION, conditions: 3 }, { log });
    for (const key of ["a", "b", "c"]) await conditionChange(store, key, "raise");
    const full = await assertRejects(() => conditionChange(store, "d", "raise"), Conflict);
    assertEquals(
      [full.code, full.message],
      [
        "too_many_conditions",
        'Id "p" holds the most conditions its active list may (3) until some return to normal',
      ],
    );
    await conditionChange(store, "a", "raise"); // a repeat adds nothing
    await conditionChange(store, "a", "clear"); // cleared, unacknowledged: still listed
    await assertRejects(() => conditionChange(store, "d", "raise"), Conflict);
    await conditionChange(store, "a", "acknowledge"); // normal: out of the list
    await conditionChange(store, "d", "raise");
    // Back from normal, a condition enters the list again: refused while it is full.
    await assertRejects(() => conditionChange(store, "a", "raise"), Conflict);
    // Nothing refused was stored: 4 raises, a repeat, a clear, an acknowledgement.
    assertEquals(await store.head("p"), 7);
    const listed = (await store.conditions("p")).filter((c) => c.state !== "normal");
    assertEquals(listed.map((c) => c.key).sort(), ["b", "c", "d"]);
    if (log === "kv") assertEquals((await kv.get(["listed", "p"])).value, 3);
  });
}

Deno.test("an active list's size missing or wrong in KV (a store written before 0.8) is counted again", async () => {
  using kv = await Deno.openKv(":memory:");
  const retention = { ...RETENTION, conditions: 3 };
  const before = new AlarmStore(kv, retention);
  for (const key of ["a", "b"]) await conditionChange(before, key, "raise");
  await kv.delete(["listed", "p"]); // as an older version leaves it
  const counting = new AlarmStore(kv, retention);
  await conditionChange(counting, "c", "raise");
  assertEquals((await kv.get(["listed", "p"])).value, 3);
  await assertRejects(() => conditionChange(counting, "d", "raise"), Conflict);
  // An older writer acknowledged one without counting: the row says full; the records don't.
  await conditionChange(counting, "a", "clear");
  await kv.set(["listed", "p"], 3); // what it would have left: the size before its change
  await conditionChange(new AlarmStore(kv, retention), "a", "acknowledge");
  await kv.set(["listed", "p"], 3);
  const fresh = new AlarmStore(kv, retention);
  await conditionChange(fresh, "d", "raise"); // counted before refusing: room for one
  assertEquals((await kv.get(["listed", "p"])).value, 3);
  await assertRejects(() => conditionChange(fresh, "e", "raise"), Conflict);
});

Deno.test("an active list counted while SQLite is busy is counted afresh on the retry", async () => {
  using kv = await Deno.openKv(":memory:");
  const retention = { ...RETENTION, conditions: 3 };
  const before = new AlarmStore(kv, retention);
  for (const key of ["a", "b"]) await conditionChange(before, key, "raise");
  await kv.delete(["listed", "p"]); // as an older version leaves it: counted from the records
  // Every other listing of the records fails after its first record, as a busy database does.
  let listings = 0;
  const busy = withAtomic(kv, () => kv.atomic());
  busy.list = <T>(selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
    const records = kv.list<T>(selector, options);
    if (!("prefix" in selector) || selector.prefix[0] !== "cond" || ++listings % 2 === 0) {
      return records;
    }
    let read = 0;
    const failing = {
      get cursor() {
        return records.cursor;
      },
      next: async () => {
        const next = await records.next();
        if (read++ === 1) throw new Error("database is locked"); // that record is gone with it
        return next;
      },
      [Symbol.asyncIterator]() {
        return failing;
      },
    };
    return failing as unknown as Deno.KvListIterator<T>;
  };
  const counting = new AlarmStore(busy, retention);
  await conditionChange(counting, "c", "raise");
  assertEquals((await kv.get(["listed", "p"])).value, 3);
  await assertRejects(() => conditionChange(counting, "d", "raise"), Conflict);
});

Deno.test("two writers raising new conditions at once fill an active list exactly to its limit", async () => {
  await withFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const retention = { ...RETENTION, conditions: 5 };
    const stores = [new AlarmStore(kvA, retention), new AlarmStore(kvB, retention)];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => conditionChange(stores[i % 2]!, `k${i}`, "raise")),
    );
    const refused = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason] : []);
    assertEquals(outcomes.length - refused.length, 5);
    assert(refused.every((r) => r instanceof Conflict && r.code === "too_many_conditions"));
    assertEquals((await stores[0]!.conditions("p")).length, 5);
    assertEquals(await stores[1]!.head("p"), 5);
    assertEquals((await kvA.get(["listed", "p"])).value, 5);
  });
});

Deno.test("a writer whose id another changed meanwhile counts its active list afresh", async () => {
  await withFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    const retention = { ...RETENTION, conditions: 3 };
    const [a, b] = [new AlarmStore(kvA, retention), new AlarmStore(kvB, retention)];
    await conditionChange(a, "k1", "raise"); // a knows: 1
    await conditionChange(b, "k2", "raise"); // 2, by b
    await a.append("p", alarm()); // a finds its head stale and reads it again (keyless)
    await conditionChange(a, "k3", "raise"); // 3
    await assertRejects(() => conditionChange(a, "k4", "raise"), Conflict);
    assertEquals((await a.conditions("p")).length, 3);
    assertEquals((await kvA.get(["listed", "p"])).value, 3);
  });
});

Deno.test("a refused condition change writes nothing: no head for an id never used, no head moved", async () => {
  using kv = await Deno.openKv(":memory:");
  const store = new AlarmStore(kv, RETENTION);
  const ack = { key: "k", change: { action: "acknowledge", by: "x" }, at: NOW } as const;
  for (let i = 0; i < 20; i++) {
    await assertRejects(
      () => store.append(`never-${i}`, alarm(), undefined, undefined, ack),
      NotFound,
    );
  }
  assertEquals(await Array.fromAsync(kv.list({ prefix: ["head"] })), []);
  await store.append("used", alarm({ key: "k" }), undefined, undefined, {
    key: "k",
    change: { action: "raise", alarm: { key: "k" } },
    at: NOW,
  });
  const before = await kv.get(["head", "used"]);
  const unshelve = { key: "k", change: { action: "unshelve", by: "x" }, at: NOW } as const;
  await assertRejects(
    () => store.append("used", alarm(), undefined, undefined, unshelve),
    Conflict,
  );
  const after = await kv.get(["head", "used"]);
  assertEquals([after.value, after.versionstamp], [1, before.versionstamp]);
});

Deno.test("a probe that meets a busy SQLite file is retried with a fresh write", async () => {
  using kv = await Deno.openKv(":memory:");
  let sets = 0;
  const busy = withAtomic(kv, () => kv.atomic());
  busy.set = (key, value, options) =>
    ++sets === 1 ? Promise.reject(new Error("database is locked")) : kv.set(key, value, options);
  const store = new AlarmStore(busy, RETENTION);
  await store.probe("me"); // the busy first try is retried, as every store call is
  assertEquals(sets, 2);
  assertEquals((await kv.get(["probe", "me"])).value !== null, true);
});
