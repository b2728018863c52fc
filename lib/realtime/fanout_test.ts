import { assert, assertEquals } from "@std/assert";
import type { Alarm } from "../core/mod.ts";
import { Metrics } from "../observe/mod.ts";
import type { FeedEntry, RelayedMessage } from "../store/mod.ts";
import type { Codec } from "./codec.ts";
import { Fanout, type FanoutStore } from "./fanout.ts";
import type { JoinHooks } from "./replay.ts";
import { Registry } from "./registry.ts";
import { FakeSocket } from "../../tests/support/fake_socket.ts";
import { Session } from "./session.ts";
import { waitFor } from "../../tests/support/wait.ts";

/** Frames are the alarm's seq: what a session got, and in which order, at a glance. */
const SEQ_CODEC: Codec = {
  name: "seq",
  events: false,
  entry: (frames) => String(frames.seq),
  event: () => undefined,
  decode: () => ({ kind: "ignored", metric: "test" }),
};
const WIRE = { codec: SEQ_CODEC, transport: { bidirectional: false, clientHeartbeats: false } };
/** The same frames in a format with events (v1, SSE): it can be told of a gap. */
const EVENTS_WIRE = { ...WIRE, codec: { ...SEQ_CODEC, name: "seq-events", events: true } };

/** The store's log and feed in memory; `read` can be made to answer wrongly. */
class MemoryStore implements FanoutStore {
  readonly logs = new Map<string, Alarm[]>();
  reads = 0;
  /** Replaces `read` (a broken store). */
  misread: ((target: string, after: number) => Alarm[]) | undefined;
  /** Runs before each read: what others do to the log meanwhile. */
  beforeRead: ((target: string) => void) | undefined;

  publish(target: string, count = 1): Alarm {
    const log = this.logs.get(target) ?? [];
    this.logs.set(target, log);
    for (let i = 0; i < count; i++) {
      const seq = (log.at(-1)?.seq ?? 0) + 1;
      log.push({ id: `a${seq}`, seq, target, createTime: 0 });
    }
    return log.at(-1)!;
  }

  read(target: string, after: number, limit: number): Promise<Alarm[]> {
    this.reads++;
    this.beforeRead?.(target);
    if (this.misread) return Promise.resolve(this.misread(target, after));
    const log = this.logs.get(target) ?? [];
    return Promise.resolve(log.filter((a) => a.seq > after).slice(0, limit));
  }

  head(target: string): Promise<number> {
    return Promise.resolve(this.logs.get(target)?.at(-1)?.seq ?? 0);
  }

  heads(targets: readonly string[]): Promise<number[]> {
    return Promise.all(targets.map((t) => this.head(t)));
  }

  // Alone on the store: the feed is never followed in these tests.
  watchFeed(): ReadableStream<number[]> {
    return new ReadableStream();
  }

  readFeed(): Promise<FeedEntry[]> {
    return Promise.resolve([]);
  }

  sendMessage(_target: string, _message: RelayedMessage): Promise<void> {
    return Promise.resolve();
  }
}

function setup() {
  const store = new MemoryStore();
  const registry = new Registry(new Metrics(), 1 << 20);
  const errors: unknown[] = [];
  let onError = () => {};
  const fanout = new Fanout(store, registry, "test", (error) => {
    errors.push(error);
    onError();
  });
  fanout.stopFollowing();
  const sockets: FakeSocket[] = [];
  async function join(
    id: string,
    since?: number,
    wire = WIRE,
    hooks: JoinHooks = {},
  ): Promise<FakeSocket> {
    const socket = new FakeSocket();
    const session = new Session(socket, id, wire, 0);
    registry.add(session);
    await fanout.join(session, since, hooks);
    sockets.push(socket);
    return socket;
  }
  /** Resolves once `count` faults were reported. */
  const faults = (count: number) =>
    new Promise<void>((resolve) => {
      onError = () => errors.length >= count && resolve();
      onError();
    });
  return { store, fanout, join, errors, faults, [Symbol.dispose]: () => fanout.close() };
}

Deno.test("fanout: an alarm that isn't the next one waits for those before it, read from the log", async () => {
  using t = setup();
  const socket = await t.join("p");
  t.store.publish("p", 3); // 1 and 2 were stored by another isolate: only 3 is handed over
  assertEquals(await t.fanout.published(t.store.logs.get("p")![2]!), 1);
  assertEquals(socket.sent, ["1", "2", "3"]);
  assertEquals(await t.fanout.published(t.store.publish("p")), 1); // the next one: no read
  assertEquals([socket.sent, t.store.reads], [["1", "2", "3", "4"], 1]);
});

Deno.test("fanout: a session resuming from a seq gets the rest from the log, then live, once each", async () => {
  using t = setup();
  t.store.publish("p", 5);
  const live = await t.join("p");
  const resumed = await t.join("p", 2);
  assertEquals(await t.fanout.published(t.store.publish("p")), 2);
  assertEquals(resumed.sent, ["3", "4", "5", "6"]);
  assertEquals(live.sent, ["6"]);
});

Deno.test("fanout: a resume from beyond this isolate's position asks the store, and skips what the client has", async () => {
  using t = setup();
  const live = await t.join("p"); // position 0 here
  t.store.publish("p", 4); // stored elsewhere; this isolate hasn't heard yet
  const resumed = await t.join("p", 3);
  assertEquals(await t.fanout.published(t.store.logs.get("p")![3]!), 2);
  assertEquals([live.sent, resumed.sent], [["1", "2", "3", "4"], ["4"]]);
});

Deno.test("fanout: a store that reads nothing newer while behind is reported and retried after growing pauses, never spun on", async () => {
  using t = setup();
  const socket = await t.join("p");
  t.store.publish("p", 3);
  const first = t.store.logs.get("p")![0]!;
  t.store.misread = () => [first]; // whatever is asked, the first alarm
  const started = performance.now();
  await t.fanout.published(t.store.logs.get("p")![2]!);
  await t.faults(3);
  const elapsed = performance.now() - started;
  // One failed attempt, then two retries after 100 and 200 ms: three reads of a stalled page
  // plus the one that moved to seq 1, not thousands.
  assertEquals(socket.sent, ["1"]);
  assertEquals(t.store.reads, 4);
  assert(elapsed >= 300, `retried after ${elapsed} ms`);
  assert(String(t.errors[0]).includes('Reading "p" after seq 1 gave nothing up to 3'));
  // Fixed: the next retry delivers the rest, in order.
  t.store.misread = undefined;
  await t.fanout.published(t.store.publish("p"));
  assertEquals(socket.sent, ["1", "2", "3", "4"]);
});

Deno.test("fanout: alarms trimmed before they were read are skipped, not waited for; sessions with events are resynced", async () => {
  using t = setup();
  const socket = await t.join("p");
  const told: string[] = [];
  const hooks: JoinHooks = {
    onResync: (head) => Promise.resolve(void told.push(`conditions as of ${head}`)),
    onGap: (since, firstAvailable) => told.push(`gap ${since}-${firstAvailable}`),
  };
  const events = await t.join("p", undefined, EVENTS_WIRE, hooks);
  t.store.publish("p", 4);
  t.store.logs.set("p", t.store.logs.get("p")!.slice(3)); // retention kept only seq 4
  await t.fanout.published(t.store.logs.get("p")![0]!);
  // The old page's format gets what exists; one with events the conditions afresh, the hole,
  // then what exists, read from the log, and stays open.
  assertEquals([socket.sent, socket.closes, t.errors.length], [["4"], [], 0]);
  await waitFor(() => events.sent.length === 1);
  assertEquals([told, events.sent, events.closes], [["conditions as of 4", "gap 0-4"], ["4"], []]);
  // Live again: the next alarm is handed over as ever, to both.
  const fifth = { id: "a5", seq: 5, target: "p", createTime: 0 };
  t.store.logs.get("p")!.push(fifth);
  assertEquals(await t.fanout.published(fifth), 2);
  assertEquals([socket.sent, events.sent, told.length], [["4", "5"], ["4", "5"], 2]);
});

Deno.test("fanout: a log trimmed while its sessions catch up: each seq is sent once or in one hole, holes told in order, never overlapping", async () => {
  using t = setup();
  const gaps: [number, number][] = [];
  const snapshots: number[] = [];
  const hooks: JoinHooks = {
    onResync: (head) => Promise.resolve(void snapshots.push(head)),
    onGap: (since, firstAvailable) => gaps.push([since, firstAvailable]),
  };
  const events = await t.join("p", undefined, EVENTS_WIRE, hooks);
  const legacy = await t.join("p");
  t.store.publish("p", 5);
  await t.fanout.published(t.store.logs.get("p")![4]!);
  // A flood elsewhere: every read finds 10 more alarms, and the log trimmed to its newest 4.
  t.store.beforeRead = (target) => {
    t.store.publish(target, 10);
    t.store.logs.set(target, t.store.logs.get(target)!.slice(-4));
  };
  for (let i = 0; i < 20; i++) await t.fanout.published(t.store.publish("p", 2));
  t.store.beforeRead = undefined;
  const last = t.store.publish("p");
  await t.fanout.published(last);
  await waitFor(() => events.sent.at(-1) === String(last.seq));
  // Every seq either sent, once, in order, or inside exactly one hole; holes in order, apart.
  const sent = events.sent.map(Number);
  assert(sent.every((seq, i) => i === 0 || seq > sent[i - 1]!));
  assert(gaps.length > 1, `${gaps.length} holes`);
  assert(
    gaps.every(([since, first], i) => since < first - 1 && since >= (gaps[i - 1]?.[1] ?? 1) - 1),
  );
  for (let seq = 1; seq <= last.seq; seq++) {
    const holes = gaps.filter(([since, first]) => since < seq && seq < first).length;
    assertEquals(holes + (sent.includes(seq) ? 1 : 0), 1, `seq ${seq}`);
  }
  // Each hole that reached past the list last sent came after the list afresh.
  assert(snapshots.length >= 1 && snapshots.length <= gaps.length);
  assert(legacy.sent.map(Number).every((seq, i, all) => i === 0 || seq > all[i - 1]!));
  assertEquals(t.errors, []);
});
