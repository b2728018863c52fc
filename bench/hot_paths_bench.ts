/**
 * Micro-benchmarks of the pure hot paths, each against a baseline in the same group so results
 * read as ratios: `deno task bench:micro`.
 *
 * @module
 */
import { createApp } from "../lib/app.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";
import { isValidId } from "../lib/core/mod.ts";
import { LEGACY_WIRE } from "../lib/http/mod.ts";
import { Metrics } from "../lib/observe/mod.ts";
import { decodeClientMessage, encodeAlarm, wrapAlarmFrame } from "../lib/core/mod.ts";
import { type PushSocket, Registry, Session } from "../lib/realtime/mod.ts";
import { buildStore } from "../lib/store/mod.ts";

const alarm = {
  level: "critical",
  device: "boiler-7",
  message: "Pressure above limit",
  value: 12.5,
  id: "7f1c0a7e-3f4b-4a7e-9a59-0d6b1e9c2f10",
  seq: 1234,
  target: "plant-3",
  createTime: "2026-01-01T00:00:00.000Z",
};

Deno.bench(
  "JSON.stringify (baseline)",
  { group: "encode", baseline: true },
  () => {
    JSON.stringify(alarm);
  },
);
Deno.bench("legacy frame + v1 frame", { group: "encode" }, () => {
  wrapAlarmFrame(encodeAlarm(alarm));
});

const pingText = JSON.stringify({ type: "ping" });
Deno.bench("JSON.parse (baseline)", { group: "decode", baseline: true }, () => {
  JSON.parse(pingText);
});
Deno.bench("decodeClientMessage", { group: "decode" }, () => {
  decodeClientMessage(pingText);
});
Deno.bench("decodeClientMessage PING", { group: "decode" }, () => {
  decodeClientMessage("PING");
});

Deno.bench(
  "string length check (baseline)",
  { group: "id", baseline: true },
  () => {
    "device:42-a".length <= 128;
  },
);
Deno.bench("isValidId", { group: "id" }, () => {
  isValidId("device:42-a");
});

// Fan-out to 1,000 sockets that accept everything: what the registry adds over a bare loop.
const SOCKETS = 1000;
const sink: PushSocket = {
  send() {},
  close() {},
  readyState: 1,
  bufferedAmount: 0,
};
const bare = Array.from({ length: SOCKETS }, () => sink);
const registry = new Registry(new Metrics(), 1 << 20);
for (let i = 0; i < SOCKETS; i++) {
  registry.add(new Session(sink, "plant-3", LEGACY_WIRE, 0));
}

Deno.bench(
  "bare loop: stringify + send x1000 (baseline)",
  { group: "fan-out", baseline: true },
  () => {
    const frame = JSON.stringify(alarm);
    for (const socket of bare) socket.send(frame);
  },
);
Deno.bench("registry.deliverAlarm x1000", { group: "fan-out" }, () => {
  registry.deliverAlarm(alarm);
});

// One publish through the whole HTTP handler, in process (no network, no sockets), with the log
// in memory: what validation, routing and storing add over a bare handler that parses and
// answers.
const body = JSON.stringify({
  level: "critical",
  device: "boiler-7",
  value: 12.5,
});
const post = (i: number) =>
  new Request(`http://localhost/api/alarms/plant-${i % 1000}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "content-length": String(body.length),
    },
    body,
  });
const app = createApp({
  config: { ...DEFAULT_CONFIG, host: "127.0.0.1", port: 0 },
  store: await buildStore({ path: ":memory:", retention: { count: 100, ageMs: 60_000 } }),
});
const seqs = new Map<string, number>();
let n = 0;
Deno.bench(
  "bare handler: URL, req.json, stamp, Response.json (baseline)",
  { group: "publish", baseline: true },
  async () => {
    const req = post(n++);
    const id = new URL(req.url).pathname.split("/")[3] ?? "";
    const seq = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, seq);
    const frame = JSON.stringify({ ...await req.json(), seq, target: id });
    await Response.json({ seq, target: id, bytes: frame.length }, {
      status: 202,
    }).text();
  },
);
// The same publish with the log on KV too (an in-memory database): group commit, the head
// cache, and each append's own deadline.
const kvApp = createApp({
  config: { ...DEFAULT_CONFIG, host: "127.0.0.1", port: 0 },
  store: await buildStore({
    path: ":memory:",
    retention: { count: 100, ageMs: 60_000 },
    log: "kv",
  }),
});
for (const [log, handler] of [["memory log", app], ["KV log", kvApp]] as const) {
  Deno.bench(`app.fetch POST /api/alarms/{id} (${log})`, { group: "publish" }, async () => {
    const res = await handler.fetch(post(n++));
    if (res.status !== 202) throw new Error(`Status ${res.status}`);
    await res.text();
  });
}
// The same with a key: each raise also updates its condition (one of 50 per id) in the commit.
const keyedApp = createApp({
  config: { ...DEFAULT_CONFIG, host: "127.0.0.1", port: 0 },
  store: await buildStore({
    path: ":memory:",
    retention: { count: 100, ageMs: 60_000 },
    log: "kv",
  }),
});
const keyed = (i: number) => {
  const text = JSON.stringify({ ...JSON.parse(body), key: `k-${i % 50}` });
  return new Request(`http://localhost/api/alarms/plant-${i % 1000}`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(text.length) },
    body: text,
  });
};
Deno.bench(
  "app.fetch POST /api/alarms/{id} with a key (KV log)",
  { group: "publish" },
  async () => {
    const res = await keyedApp.fetch(keyed(n++));
    if (res.status !== 202) throw new Error(`Status ${res.status}`);
    await res.text();
  },
);
