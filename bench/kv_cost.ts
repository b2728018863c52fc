/**
 * What delivery across instances costs in KV operations, counted, not timed: N instances (each
 * its own KV handle on one SQLite file, as isolates of `deno serve --parallel` are) hold sessions
 * on the same ids; alarms are published through the first; every call each instance makes to KV
 * is counted. Also the watch streams an instance holds with 10 and with 10,000 ids.
 *
 * Run alone with `deno task bench --only kvcost`; `kvCostTable()` returns the Markdown table.
 *
 * @module
 */
import { createApp } from "../lib/app.ts";
import { DEFAULT_CONFIG } from "../lib/config.ts";
import { LEGACY_WIRE } from "../lib/http/mod.ts";
import type { PushSocket } from "../lib/realtime/mod.ts";
import { buildStore } from "../lib/store/mod.ts";
import { FaultyKv } from "../tests/support/faulty_kv.ts";

const IDS = 20;
const ALARMS_PER_ID = 25;

/** A socket that takes every frame and counts them. */
class CountingSocket implements PushSocket {
  readyState = 1;
  bufferedAmount = 0;
  frames = 0;
  send(): void {
    this.frames++;
  }
  close(): void {
    this.readyState = 3;
  }
}

interface Instance {
  kv: FaultyKv;
  app: ReturnType<typeof createApp>;
  sockets: CountingSocket[];
}

async function instance(path: string): Promise<Instance> {
  const kv = new FaultyKv(await Deno.openKv(path));
  const store = await buildStore({ kv, retention: { count: 1000, ageMs: 3600_000 } });
  const app = createApp({ config: { ...DEFAULT_CONFIG, port: 0 }, store });
  await app.start();
  return { kv, app, sockets: [] };
}

function hold(inst: Instance, ids: string[]): void {
  for (const id of ids) {
    const socket = new CountingSocket();
    inst.app.hub.attach(id, LEGACY_WIRE)(socket).onOpen();
    inst.sockets.push(socket);
  }
}

async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function reads(kv: FaultyKv): number {
  return kv.calls.get + kv.calls.getMany + kv.calls.list;
}

function writes(kv: FaultyKv): number {
  return kv.calls.commit + kv.calls.set + kv.calls.delete;
}

/** One row per instance count: KV calls per published and per delivered alarm. */
async function measure(count: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  const fleet: Instance[] = [];
  try {
    for (let i = 0; i < count; i++) {
      fleet.push(await instance(`${dir}/kv.sqlite3`));
    }
    const ids = Array.from({ length: IDS }, (_, i) => `id-${i}`);
    for (const inst of fleet) hold(inst, ids);
    // Settled: every session registered, presence written, the feed followed.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const inst of fleet) inst.kv.resetCounts();
    const [publisher] = fleet as [Instance];
    const total = IDS * ALARMS_PER_ID;
    // Closed loop, one alarm in flight: the worst case for batching.
    for (let n = 0; n < ALARMS_PER_ID; n++) {
      for (const id of ids) await publisher.app.hub.publish(id, prepared(n));
    }
    await until(() =>
      fleet.every((inst) => inst.sockets.every((socket) => socket.frames === ALARMS_PER_ID))
    );
    const others = fleet.slice(1);
    const otherReads = others.reduce((sum, inst) => sum + reads(inst.kv), 0) /
      others.length;
    const otherWrites = others.reduce((sum, inst) => sum + writes(inst.kv), 0) /
      others.length;
    const cells = [
      String(count),
      (reads(publisher.kv) / total).toFixed(2),
      (writes(publisher.kv) / total).toFixed(2),
      others.length ? (otherReads / total).toFixed(2) : "–",
      others.length ? (otherWrites / total).toFixed(2) : "–",
      String(Math.max(...fleet.map((inst) => inst.app.hub.watches))),
    ];
    return `| ${cells.join(" | ")} |`;
  } finally {
    for (const inst of fleet) {
      await inst.app.close(0);
      inst.kv.close();
    }
    await Deno.remove(dir, { recursive: true });
  }
}

/** Watch streams held by one of two instances serving `ids` ids. */
async function watchesWith(ids: number): Promise<number> {
  const dir = await Deno.makeTempDir();
  const [a, b] = [
    await instance(`${dir}/kv.sqlite3`),
    await instance(`${dir}/kv.sqlite3`),
  ];
  try {
    hold(a, Array.from({ length: ids }, (_, i) => `id-${i}`));
    await until(() => a.app.hub.following);
    return a.app.hub.watches;
  } finally {
    for (const inst of [a, b]) {
      await inst.app.close(0);
      inst.kv.close();
    }
    await Deno.remove(dir, { recursive: true });
  }
}

function prepared(n: number) {
  const fields = {
    id: crypto.randomUUID(),
    createTime: new Date().toISOString(),
    n,
  };
  return { fields, bytes: JSON.stringify(fields).length };
}

/** The Markdown table of KV costs. */
export async function kvCostTable(): Promise<string> {
  const lines = [
    `${IDS} ids, ${ALARMS_PER_ID} alarms each, published one at a time through instance 1; ` +
    "every instance holds one session per id. Calls per alarm:",
    "",
    "| instances | reads, publisher | writes, publisher | reads, each other | writes, each other | watch streams |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const count of [1, 3, 10]) lines.push(await measure(count));
  lines.push(
    "",
    `Watch streams of an instance not alone on its store: ${await watchesWith(
      10,
    )} with 10 ids, ${await watchesWith(
      10_000,
    )} with 10,000 ids.`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  // deno-lint-ignore no-console -- a benchmark prints its table
  console.log(await kvCostTable());
}
