import { assert, assertEquals } from "@std/assert";
import {
  type ConditionChange,
  type JsonObject,
  prepareAlarm,
  type PreparedAlarm,
} from "../core/mod.ts";
import { Metrics, SILENT_LOGGER } from "../observe/mod.ts";
import { type AlarmStore, buildStore } from "../store/mod.ts";
import type { Clock } from "../core/mod.ts";
import { Escalation } from "./escalation.ts";
import { SHELVED_RECHECK_MS } from "./scheduler.ts";

/** A clock moved by hand; timers are recorded, never run (the tests scan themselves). */
class ManualClock implements Clock {
  time = Date.parse("2026-03-01T00:00:00Z");
  readonly now = (): number => this.time;
  after(): () => void {
    return () => {};
  }
}

interface Published {
  target: string;
  fields: JsonObject;
  key: string;
}

/** The scheduler's longest pause between scans, in the tests' setup. */
const SCAN_MS = 1000;

const WEBHOOKS = {
  allowedOrigins: [],
  secret: undefined,
  timeoutMs: 1000,
  maxAttempts: 3,
  backoffMs: 100,
  maxBackoffMs: 1000,
};

/** One store, and as many escalation instances on it as asked, all on one manual clock. */
async function setup(instances = 1, log: "kv" | "memory" = "kv") {
  const store = await buildStore({
    path: ":memory:",
    retention: { count: 100, ageMs: 3600_000 },
    log,
  });
  const clock = new ManualClock();
  const published: Published[] = [];
  const metrics = new Metrics();
  let failPublish = false;
  const escalations = Array.from({ length: instances }, () =>
    new Escalation({
      store,
      publish: (target: string, prepared: PreparedAlarm, key: string) => {
        if (failPublish) return Promise.reject(new Error("Killed mid-escalation"));
        // Idempotent by key, like the hub's publish.
        if (!published.some((p) => p.key === key && p.target === target)) {
          published.push({ target, fields: prepared.fields, key });
        }
        return Promise.resolve();
      },
      metrics,
      logger: SILENT_LOGGER,
      clock,
      webhooks: WEBHOOKS,
      scanMs: SCAN_MS,
      storeTimeoutMs: 1000,
    }));
  for (const e of escalations) await e.start();
  const [escalation] = escalations as [Escalation, ...Escalation[]];
  /** Publishes like the hub: stamped with the deadline, stored with it in one commit. */
  async function publish(target: string, fields: JsonObject) {
    const prepared = prepareAlarm(fields, clock.now());
    const deadline = escalation.deadlineFor(target, prepared);
    const key = typeof fields.key === "string" ? fields.key : undefined;
    const appended = await store.append(
      target,
      deadline?.prepared ?? prepared,
      undefined,
      deadline?.due,
      key === undefined
        ? undefined
        : { key, change: { action: "raise", alarm: prepared.fields }, at: clock.now() },
    );
    assert(!appended.duplicate);
    return { alarm: appended.alarm, deadline };
  }
  /** Changes a condition like the hub: its entry and its state in one commit. */
  async function change(
    target: string,
    key: string,
    what: Exclude<ConditionChange, { action: "raise" }>,
  ) {
    const at = clock.now();
    const fields = { id: crypto.randomUUID(), createTime: at, transition: { key } };
    await store.append(target, { fields, bytes: 200 }, undefined, undefined, {
      key,
      change: what,
      at,
    });
  }
  return {
    store,
    clock,
    published,
    metrics,
    escalation,
    escalations,
    publish,
    change,
    failPublishes(fail: boolean) {
      failPublish = fail;
    },
    async [Symbol.asyncDispose]() {
      for (const e of escalations) await e.stop();
      store.close();
    },
  };
}

const BOILERS = {
  match: { prefixes: ["plant-"], levels: ["Critical"] },
  ackWithinSeconds: 60,
  escalateTo: ["shift-lead"],
};

Deno.test("escalation: an alarm no policy covers gets no deadline", async () => {
  await using t = await setup();
  assertEquals(
    t.escalation.deadlineFor("plant-3", prepareAlarm({ level: "critical" }, 0)),
    undefined,
  );
  await t.escalation.put("boilers", BOILERS);
  assertEquals(t.escalation.deadlineFor("plant-3", prepareAlarm({ level: "minor" }, 0)), undefined);
  assertEquals(
    t.escalation.deadlineFor("office", prepareAlarm({ level: "critical" }, 0)),
    undefined,
  );
  const deadline = t.escalation.deadlineFor("plant-3", prepareAlarm({ level: "CRITICAL" }, 0));
  assertEquals(deadline?.due, { at: t.clock.time + 60_000, policy: "boilers" });
  assertEquals(deadline?.prepared.fields.ackBy, "2026-03-01T00:01:00.000Z");
});

Deno.test("escalation: escalates once when the deadline passes unacknowledged", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  const { alarm } = await t.publish("plant-3", { level: "critical", message: "Pressure high" });
  t.clock.time += 59_999;
  assertEquals(await t.escalation.scan(), 0);
  assertEquals(t.published.length, 0);
  t.clock.time += 1;
  assertEquals(await t.escalation.scan(), 1);
  await t.escalation.stop(); // waits for the escalation in progress
  assertEquals(t.published.length, 1);
  assertEquals(t.published[0]!.target, "shift-lead");
  assertEquals(t.published[0]!.fields.kind, "escalation");
  assertEquals(t.published[0]!.fields.escalation, {
    policy: "boilers",
    step: 1,
    target: "plant-3",
    seq: 1,
    alarmId: alarm.id,
    deadline: "2026-03-01T00:01:00.000Z",
  });
  assertEquals(
    t.published[0]!.fields.message,
    "plant-3 #1 not acknowledged within 60 s: Pressure high",
  );
  t.clock.time += 3600_000;
  assertEquals(await t.escalation.scan(), 0);
  assertEquals([t.metrics.escalationsFired, t.metrics.escalationsCancelled], [1, 0]);
  assertEquals(await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10), []);
});

Deno.test("escalation: an ack before the deadline cancels it; one for an earlier seq does not", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical" });
  await t.publish("plant-3", { level: "critical" });
  await acknowledge(t.store, "plant-3", 1);
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 2);
  await t.escalation.stop();
  assertEquals(t.published.map((p) => (p.fields.escalation as JsonObject).seq), [2]);
  assertEquals([t.metrics.escalationsFired, t.metrics.escalationsCancelled], [1, 1]);
});

Deno.test("escalation: repeats every interval until acknowledged, then stops", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", { ...BOILERS, repeat: { everySeconds: 30, times: 5 } });
  await t.publish("plant-3", { level: "critical" });
  for (const step of [1, 2]) {
    t.clock.time += step === 1 ? 60_000 : 30_000;
    assertEquals(await t.escalation.scan(), 1);
  }
  await acknowledge(t.store, "plant-3", 1);
  t.clock.time += 30_000;
  assertEquals(await t.escalation.scan(), 1); // the third step, cancelled
  t.clock.time += 3600_000;
  assertEquals(await t.escalation.scan(), 0);
  await t.escalation.stop();
  assertEquals(t.published.map((p) => (p.fields.escalation as JsonObject).step), [1, 2]);
  assertEquals(t.published[1]!.fields.message, "plant-3 #1 not acknowledged within 90 s");
});

Deno.test("escalation: of three instances scanning at once, exactly one escalates each step", async () => {
  await using t = await setup(3);
  await t.escalation.put("boilers", BOILERS);
  for (const e of t.escalations) await e.start(); // the others learn the policy
  for (let i = 0; i < 20; i++) await t.publish(`plant-${i % 4}`, { level: "critical" });
  t.clock.time += 60_000;
  const handled = await Promise.all(t.escalations.map((e) => e.scan()));
  for (const e of t.escalations) await e.stop();
  assertEquals(handled.reduce((a, b) => a + b, 0), 20);
  assertEquals(t.metrics.escalationsFired, 20);
  assertEquals(t.published.length, 20);
  assertEquals(new Set(t.published.map((p) => p.key)).size, 20);
});

Deno.test("escalation: an instance that dies mid-escalation is replaced once its lease expires", async () => {
  await using t = await setup(2);
  await t.escalation.put("boilers", BOILERS);
  await t.escalations[1]!.start();
  await t.publish("plant-3", { level: "critical" });
  t.clock.time += 60_000;
  t.failPublishes(true);
  assertEquals(await t.escalation.scan(), 1); // claimed, then "killed" before publishing
  await t.escalation.stop();
  t.failPublishes(false);
  assertEquals(await t.escalations[1]!.scan(), 0); // leased: not yet
  t.clock.time += 60_000;
  assertEquals(await t.escalations[1]!.scan(), 1);
  await t.escalations[1]!.stop();
  assertEquals(t.published.length, 1);
  assertEquals(t.metrics.escalationsFired, 1);
});

Deno.test("escalation: deleting a policy cancels its pending escalations", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical" });
  await t.escalation.put("other", { ...BOILERS, match: { ids: ["elsewhere"] } });
  assertEquals(await t.escalation.delete("boilers"), true);
  assertEquals(await t.escalation.delete("boilers"), false);
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 1);
  assertEquals(t.published, []);
  assertEquals(await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10), []);
});

Deno.test("escalation: a policy another instance just stored is not taken for a deleted one", async () => {
  await using t = await setup(2);
  const [first, second] = t.escalations as [Escalation, Escalation];
  await first.put("other", { ...BOILERS, match: { ids: ["elsewhere"] } });
  await second.start(); // knows "other"; then hears no more (a watch behind)
  await second.stop();
  await first.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical" });
  t.clock.time += 60_000;
  assertEquals(await second.scan(), 1);
  await second.stop(); // its escalation published
  assertEquals(t.published.map((p) => p.target), ["shift-lead"]);
  assertEquals(t.metrics.escalationsFired, 1);
});

Deno.test("escalation: escalation alarms are never escalated again", async () => {
  await using t = await setup();
  await t.escalation.put("all", {
    match: { prefixes: ["s", "p"] },
    ackWithinSeconds: 1,
    escalateTo: ["shift-lead"],
  });
  await t.publish("plant-3", { level: "critical" });
  t.clock.time += 1000;
  await t.escalation.scan();
  await t.escalation.stop();
  const escalated = t.published[0]!;
  assertEquals(escalated.target, "shift-lead");
  assertEquals(
    t.escalation.deadlineFor("shift-lead", prepareAlarm(escalated.fields, t.clock.time)),
    undefined,
  );
});

Deno.test("escalation: with no policy at all, a scan reads nothing", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical" });
  await t.escalation.delete("boilers");
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 0);
  // The orphaned deadline waits for the next policy, which cancels it as deleted.
  assertEquals((await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10)).length, 1);
  await t.escalation.put("other", { ...BOILERS, match: { ids: ["elsewhere"] } });
  assertEquals(await t.escalation.scan(), 1);
  assertEquals(t.published.length, 0);
  assertEquals(await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10), []);
});

/** Records an ack as `Hub.ack` does. */
function acknowledge(store: AlarmStore, id: string, seq: number): Promise<void> {
  return store.ack(id, seq, { event: { type: "ack", id, seq }, except: "", origin: "test" });
}

for (const log of ["kv", "memory"] as const) {
  Deno.test(`escalation (${log} log): a condition's repeat starts no new deadline, and acknowledging it cancels the first`, async () => {
    await using t = await setup(1, log);
    await t.escalation.put("boilers", BOILERS);
    for (let i = 0; i < 3; i++) await t.publish("plant-3", { level: "critical", key: "boiler-7" });
    assertEquals((await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10)).length, 1);
    await t.change("plant-3", "boiler-7", { action: "acknowledge", by: "li" });
    t.clock.time += 60_000;
    assertEquals(await t.escalation.scan(), 1);
    assertEquals([t.metrics.escalationsFired, t.metrics.escalationsCancelled], [0, 1]);
  });

  Deno.test(`escalation (${log} log): a shelved condition doesn't escalate until its shelving ends`, async () => {
    await using t = await setup(1, log);
    await t.escalation.put("boilers", BOILERS);
    await t.publish("plant-3", { level: "critical", key: "boiler-7" });
    await t.change("plant-3", "boiler-7", {
      action: "shelve",
      by: "li",
      reason: "sensor swap",
      until: t.clock.now() + 120_000,
      untilCleared: false,
    });
    t.clock.time += 60_000;
    await t.escalation.scan();
    assertEquals(t.metrics.escalationsFired, 0);
    t.clock.time += 60_000;
    await t.escalation.scan();
    await t.escalation.stop();
    assertEquals(t.metrics.escalationsFired, 1);
  });
}

Deno.test("escalation: a cleared but unacknowledged condition still escalates", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical", key: "boiler-7" });
  await t.change("plant-3", "boiler-7", { action: "clear", by: "plc" });
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 1);
  await t.escalation.stop();
  assertEquals([t.metrics.escalationsFired, t.published.length], [1, 1]);
});

/** Moves the clock on by `ms`, scanning at every scan interval of it (as the scheduler would). */
async function scanFor(t: Setup, ms: number): Promise<void> {
  for (const end = t.clock.time + ms; t.clock.time < end;) {
    t.clock.time = Math.min(end, t.clock.time + SCAN_MS);
    await t.escalation.scan();
  }
}

/** Shelves condition boiler-7 of plant-3 for `seconds` (and until it clears, if asked); its end. */
async function shelve(t: Setup, seconds: number, untilCleared = false): Promise<number> {
  const until = t.clock.now() + seconds * 1000;
  await t.change("plant-3", "boiler-7", {
    action: "shelve",
    by: "li",
    reason: "sensor swap",
    until,
    untilCleared,
  });
  return until;
}

type Setup = Awaited<ReturnType<typeof setup>>;

Deno.test("escalation: a shelved condition's deadline waits for the shelving to end", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical", key: "boiler-7" });
  const until = await shelve(t, 120);
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 1); // postponed, to look again before long
  assertEquals((await t.store.dueUpTo(Number.MAX_SAFE_INTEGER, 10)).map((e) => e.at), [
    t.clock.time + SHELVED_RECHECK_MS,
  ]);
  await scanFor(t, until - 1 - t.clock.time); // to the shelving's last millisecond
  assertEquals(t.metrics.escalationsFired, 0);
  await scanFor(t, 1);
  await t.escalation.stop();
  assertEquals([t.metrics.escalationsFired, t.published.length], [1, 1]);
});

Deno.test("escalation: a condition escalates on its own state: the id's acks of its seq don't cancel it", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", BOILERS);
  await t.publish("plant-3", { level: "critical", key: "boiler-7" }); // seq 1
  await t.publish("plant-3", { level: "critical" }); // seq 2, keyless
  await acknowledge(t.store, "plant-3", 2); // acknowledges the keyless alarm, not the condition
  t.clock.time += 60_000;
  assertEquals(await t.escalation.scan(), 2);
  await t.escalation.stop();
  assertEquals(t.published.map((p) => (p.fields.escalation as JsonObject).seq), [1]);
  assertEquals([t.metrics.escalationsFired, t.metrics.escalationsCancelled], [1, 1]);
});

Deno.test("escalation: a condition whose shelving ends early escalates within the recheck interval", async () => {
  for (const end of ["unshelve", "clear"] as const) {
    await using t = await setup();
    await t.escalation.put("boilers", { ...BOILERS, ackWithinSeconds: 2 });
    await t.publish("plant-3", { level: "critical", key: "boiler-7" });
    await shelve(t, 600, end === "clear");
    await scanFor(t, 4000); // the deadline passes at 2 s, shelved
    assertEquals(t.metrics.escalationsFired, 0, end);
    // Unshelved at 4 s, or cleared (which ends a shelving until cleared): still unacknowledged.
    await t.change("plant-3", "boiler-7", { action: end, by: "li" });
    await scanFor(t, SHELVED_RECHECK_MS);
    await t.escalation.stop();
    assertEquals([t.metrics.escalationsFired, t.published.length], [1, 1], end);
  }
});

Deno.test("escalation: after a shelving, repeats count from the escalation, not in a burst", async () => {
  await using t = await setup();
  await t.escalation.put("boilers", { ...BOILERS, repeat: { everySeconds: 30, times: 3 } });
  const start = t.clock.time;
  await t.publish("plant-3", { level: "critical", key: "boiler-7" });
  const until = await shelve(t, 300); // past the deadline (60 s) and all three repeats' times
  await scanFor(t, until - t.clock.time);
  assertEquals(t.metrics.escalationsFired, 1); // as the shelving ends
  await scanFor(t, 29_999);
  assertEquals(t.metrics.escalationsFired, 1); // no burst of the repeats whose times passed
  await scanFor(t, 1);
  assertEquals(t.metrics.escalationsFired, 2);
  await scanFor(t, 30_000);
  await t.escalation.stop();
  const escalations = t.published.map((p) => p.fields.escalation as JsonObject);
  assertEquals(escalations.map((e) => [e.step, Date.parse(e.deadline as string) - start]), [
    [1, 60_000],
    [2, 330_000],
    [3, 360_000],
  ]);
});
