import { assertEquals, assertLess } from "@std/assert";
import { Metrics, SILENT_LOGGER } from "../observe/mod.ts";
import { buildStore } from "../store/mod.ts";
import { LEGACY_WIRE, V1_WIRE } from "../http/mod.ts";
import { Hub } from "./hub.ts";
import { Registry } from "./registry.ts";
import { Session } from "./session.ts";
import type { Condition } from "../core/mod.ts";
import { FakeSocket } from "../../tests/support/fake_socket.ts";

async function hub(slowConsumerBytes = 1000) {
  const metrics = new Metrics();
  const clock = { t: 0 };
  const store = await buildStore({
    path: ":memory:",
    retention: { count: 100, ageMs: 60_000 },
    log: "kv",
  });
  const h = new Hub({
    store,
    metrics,
    logger: SILENT_LOGGER,
    now: () => clock.t,
    limits: {
      heartbeatTimeoutMs: 90_000,
      slowConsumerBytes,
      messageRate: 100,
      messageBurst: 100,
      maxShelveSeconds: 3600,
      anonymousActions: true,
    },
  });
  return {
    hub: h,
    metrics,
    clock,
    async [Symbol.asyncDispose]() {
      await h.shutdown(0);
      store.close();
    },
  };
}

const prepared = { fields: { id: "x", createTime: "2026-01-01T00:00:00Z" }, bytes: 48 };

Deno.test("a repeated close of an old socket never removes a newer session of the same id", async () => {
  await using t = await hub();
  const { hub: h } = t;
  const oldSocket = new FakeSocket();
  const old = h.attach("dev", LEGACY_WIRE)(oldSocket);
  old.onOpen();
  old.onClose(1006, "");
  const fresh = h.attach("dev", LEGACY_WIRE)(new FakeSocket());
  fresh.onOpen();
  // Deno fires close again for the old socket after an idle timeout.
  old.onClose(1006, "");
  old.onClose(1001, "");
  assertEquals(h.size, 1);
  assertEquals(h.sessionsOf("dev").size, 1);
});

Deno.test("fan-out sends flat alarms to legacy, envelopes to v1, and skips sockets not open", async () => {
  await using t = await hub();
  const { hub: h, metrics } = t;
  const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
  h.attach("t", LEGACY_WIRE)(sockets[0]!).onOpen();
  h.attach("t", V1_WIRE)(sockets[1]!).onOpen();
  h.attach("t", LEGACY_WIRE)(sockets[2]!).onOpen();
  sockets[2]!.readyState = 2; // closing: its close event has not arrived yet
  // Live once welcomed (the conditions are read first).
  while (sockets[1]!.sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const { delivered } = await h.publish("t", prepared);
  assertEquals(delivered, 2);
  assertEquals(metrics.sendsDropped, 1);
  assertEquals(JSON.parse(sockets[0]!.sent[0]!), {
    id: "x",
    createTime: "2026-01-01T00:00:00Z",
    seq: 1,
    target: "t",
  });
  // sent[0] of the v1 socket is its welcome.
  assertEquals(JSON.parse(sockets[1]!.sent[1]!).alarm.seq, 1);
});

Deno.test("a slow consumer is closed once past the threshold and gets nothing more", async () => {
  await using t = await hub(1000);
  const { hub: h, metrics } = t;
  const slow = new FakeSocket();
  slow.grow = 400;
  const fast = new FakeSocket();
  h.attach("t", LEGACY_WIRE)(slow).onOpen();
  h.attach("t", LEGACY_WIRE)(fast).onOpen();
  for (let i = 0; i < 5; i++) await h.publish("t", prepared);
  assertEquals(slow.sent.length, 3); // 1200 bytes buffered after the third
  assertEquals(slow.closes, [{ code: 4008, reason: "slow consumer" }]);
  assertEquals(fast.sent.length, 5);
  assertEquals(metrics.slowConsumerCloses, 1);
  assertEquals(h.size, 1);
});

Deno.test("the send queue is read once per 1/16 of the threshold of frames sent", async () => {
  await using t = await hub(16_000); // read after every 1,000 characters of frames
  const { hub: h, metrics } = t;
  const slow = new FakeSocket();
  slow.grow = 2_000;
  h.attach("t", LEGACY_WIRE)(slow).onOpen();
  await h.publish("t", prepared);
  const perRead = Math.ceil(1_000 / slow.sent[0]!.length); // frames between two reads
  assertLess(1, perRead);
  while (slow.closes.length === 0) await h.publish("t", prepared);
  // Closed at the first read past 16,000 buffered bytes, not at the first send past it.
  assertEquals(slow.bufferedReads, Math.ceil(Math.ceil(16_001 / 2_000) / perRead));
  assertEquals(slow.sent.length, slow.bufferedReads * perRead);
  assertEquals(slow.closes, [{ code: 4008, reason: "slow consumer" }]);
  assertEquals(metrics.slowConsumerCloses, 1);
});

Deno.test("sweep closes only sessions silent past the heartbeat timeout", async () => {
  await using t = await hub();
  const { hub: h, clock } = t;
  const quiet = new FakeSocket();
  const chatty = new FakeSocket();
  h.attach("a", LEGACY_WIRE)(quiet).onOpen();
  const handlers = h.attach("a", LEGACY_WIRE)(chatty);
  handlers.onOpen();
  clock.t = 60_000;
  handlers.onText("PING");
  clock.t = 90_000;
  assertEquals(h.sweep(), 0); // exactly at the timeout is still alive
  clock.t = 90_001;
  assertEquals(h.sweep(), 1);
  assertEquals(quiet.closes, [{ code: 4000, reason: "heartbeat timeout" }]);
  assertEquals(chatty.closes, []);
});

Deno.test("shutdown closes every session with 1012 and waits for the handshakes", async () => {
  await using t = await hub();
  const { hub: h } = t;
  const a = new FakeSocket();
  const b = new FakeSocket();
  const ha = h.attach("a", LEGACY_WIRE)(a);
  const hb = h.attach("b", V1_WIRE)(b);
  ha.onOpen();
  hb.onOpen();
  let finished = false;
  const done = h.shutdown(60_000).then(() => finished = true);
  const restart = [{ code: 1012, reason: "service restart" }];
  assertEquals([a.closes, b.closes], [restart, restart]);
  ha.onClose(1012, "service restart");
  await Promise.resolve();
  assertEquals(finished, false); // b has not answered yet
  hb.onClose(1012, "service restart");
  await done; // resolves without waiting for the 60 s grace period
  assertEquals(h.size, 0);
});

Deno.test("shutdown gives up on peers that never answer after the grace period", async () => {
  await using t = await hub();
  const { hub: h } = t;
  const stuck = new FakeSocket();
  h.attach("a", LEGACY_WIRE)(stuck).onOpen();
  const started = Date.now();
  await h.shutdown(30);
  assertEquals(stuck.closes.length, 1);
  assertEquals(Date.now() - started < 1000, true);
});

Deno.test("a place given back twice is given back once", () => {
  const registry = new Registry(new Metrics(), 1000);
  const first = registry.hold("x", "192.0.2.1");
  registry.hold("x", "192.0.2.1");
  first.release();
  first.release(); // e.g. the close handler and an error path both release
  assertEquals(
    [registry.occupied, registry.occupiedBy("x"), registry.occupiedFrom("192.0.2.1")],
    [1, 1, 1],
  );
});

Deno.test("a snapshot sent whole may wait in its queue past the threshold, the queue's other ids too", () => {
  const metrics = new Metrics();
  const registry = new Registry(metrics, 1000); // read after every 62 characters of frames
  // One event stream carrying two ids: one queue, two sockets.
  const queue = { bytes: 0 };
  class QueuedSocket extends FakeSocket {
    override get bufferedAmount(): number {
      return queue.bytes;
    }
    get queue(): object {
      return queue;
    }
  }
  const socket = () => new QueuedSocket();
  const [a, b] = ["a", "b"].map((id) => new Session(socket(), id, V1_WIRE, 0));
  for (const s of [a!, b!]) registry.add(s);
  const conditions = [{ key: "k", note: "n".repeat(5000) }] as unknown as Condition[];
  queue.bytes = 5000; // a's list, queued as it is sent, not taken yet
  registry.sendWhole(a!, { type: "conditions", id: "a", seq: 1, conditions });
  const pong = { type: "pong", serverTime: "2026-01-01T00:00:00.000Z" } as const;
  for (let i = 0; i < 5; i++) registry.sendEvent(b!, pong);
  assertEquals([a!.socket.readyState, b!.socket.readyState, metrics.slowConsumerCloses], [1, 1, 0]);
  // Drained below the threshold: the allowance is gone, and a queue past it is slow again.
  queue.bytes = 500;
  for (let i = 0; i < 5; i++) registry.sendEvent(b!, pong);
  queue.bytes = 2000;
  for (let i = 0; i < 5; i++) registry.sendEvent(b!, pong);
  assertEquals([b!.socket.readyState, metrics.slowConsumerCloses], [2, 1]);
});
