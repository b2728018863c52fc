/**
 * The fault soak: several `main.ts` processes on one store for several minutes, one of them killed
 * (SIGKILL) at random every few seconds and started again; on a denokv store, the store itself is
 * also frozen (SIGSTOP) now and then. Publishers post at a steady rate through random live
 * processes, each alarm with its own `Idempotency-Key`, retrying a 503 or a lost connection
 * through another process. Subscribers (legacy sockets, `alarms.v1` sockets and SSE streams, all
 * from seq 0) reconnect to a random live process with the last seq they saw whenever their
 * process dies, and now and then right after an alarm arrived (a page reloading, a network
 * change): the new process may not have heard of that alarm yet. At the end every id's log and
 * every subscriber's record are checked against what was accepted: alarms lost, stored twice,
 * delivered twice, delivered out of order.
 *
 * Run with `deno run -A bench/fault_soak.ts [--minutes 5] [--store sqlite|denokv] [--processes 3]
 * [--rate 20] [--seed 1]`; prints a Markdown table for docs/performance.md and exits 1 if any count
 * is not 0. A benchmark tool, never a test: it takes minutes and kills processes at random.
 *
 * @module
 */
import { DENOKV, DenoKv } from "../tests/support/denokv.ts";
import { storedAlarms } from "../tests/support/history.ts";
import { freePort } from "../tests/support/ports.ts";
import { ServerProcess } from "../tests/support/process.ts";
import { SseClient } from "../tests/support/sse.ts";
import { healthy } from "../tests/support/wait.ts";

const args = Deno.args;
function flag(name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
const MINUTES = Number(flag("--minutes", "5"));
const STORE = flag("--store", "sqlite");
const PROCESSES = Number(flag("--processes", "3"));
const RATE = Number(flag("--rate", "20"));
const IDS = 12;
const SUBSCRIBERS_PER_ID = 3; // one of each protocol
const PROTOCOLS = ["legacy", "v1", "sse"] as const;
/** Chance that a subscriber reconnects elsewhere at once after an alarm. */
const HOP = 0.05;

// A seeded generator, so a run can be repeated (`--seed`).
let seed = Number(flag("--seed", String(Date.now() % 100_000))) >>> 0 || 1;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A live server process. */
interface Member {
  proc: ServerProcess;
  http: string;
  ws: string;
}

/** Starts one more process on the store and waits until it answers. */
async function start(store: Record<string, string>): Promise<Member> {
  const port = freePort();
  const proc = new ServerProcess({
    ...store,
    PORT: String(port),
    LOG_LEVEL: "warn",
    STORE_TIMEOUT_SECONDS: "2",
    UPGRADES_PER_MINUTE: "0",
    HEARTBEAT_TIMEOUT_SECONDS: "600",
  });
  const http = `http://127.0.0.1:${port}`;
  await healthy(http, 30_000);
  return { proc, http, ws: http.replace("http", "ws") };
}

// The fleet: live members, and the env every (re)started one gets.
const live: Member[] = [];
let env: Record<string, string>;
let denokv: DenoKv | undefined;
let dir: string | undefined;
if (STORE === "denokv") {
  if (!DENOKV) throw new Error("denokv not found");
  denokv = await DenoKv.start(DENOKV, freePort());
  env = { KV_PATH: denokv.url, DENO_KV_ACCESS_TOKEN: denokv.token };
} else {
  dir = await Deno.makeTempDir();
  env = { KV_PATH: `${dir}/kv.sqlite3` };
}
for (let i = 0; i < PROCESSES; i++) live.push(await start(env));
const ids = Array.from({ length: IDS }, (_, i) => `soak-${i}`);
let running = true;
const counts = {
  published: 0,
  retries: 0,
  kills: 0,
  freezes: 0,
  reconnects: 0,
  hops: 0,
};

/** What each publish ended as: the seq of its 2xx, per id and key. */
const accepted = new Map<string, Map<number, number>>(
  ids.map((id) => [id, new Map()]),
);

async function publishOne(n: number): Promise<void> {
  const id = pick(ids);
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) counts.retries++;
    const m = live.length > 0 ? pick(live) : undefined;
    if (!m) {
      await sleep(200);
      continue;
    }
    try {
      const res = await fetch(`${m.http}/api/alarms/${id}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "idempotency-key": `soak-${n}`,
        },
        body: JSON.stringify({ level: "high", message: "soak", n }),
      });
      const body = await res.json();
      if (res.ok) {
        accepted.get(id)!.set(n, body.seq);
        return;
      }
    } catch {
      // The process died under us: another one takes the retry.
    }
    await sleep(200 + random() * 300);
  }
  throw new Error(`Publish ${n} never accepted`);
}

/** One subscriber: every seq it received, in arrival order, across its reconnects. */
interface Subscriber {
  id: string;
  protocol: typeof PROTOCOLS[number];
  received: number[];
  last: number;
}

async function subscribe(s: Subscriber): Promise<void> {
  while (running || s.last < head(s.id)) {
    const m = live.length > 0 ? pick(live) : undefined;
    if (!m) {
      await sleep(200);
      continue;
    }
    let hop = false;
    const got = (seq: number) => {
      s.received.push(seq);
      s.last = Math.max(s.last, seq);
      if (random() < HOP) hop = true;
    };
    const stay = () => !hop && (running || s.last < head(s.id));
    try {
      if (s.protocol === "sse") {
        await using stream = await SseClient.open(
          `${m.http}/events/${s.id}?since=${s.last}`,
        );
        if (stream.response.status !== 200) {
          throw new Error(`SSE ${stream.response.status}`);
        }
        while (!stream.ended && stay()) {
          try {
            got((await stream.nextAlarm()).alarm.seq);
          } catch {
            // Nothing for a while, or the stream ended: the loop condition decides.
          }
        }
      } else {
        const v1 = s.protocol === "v1";
        const url = `${m.ws}/websocket/${s.id}?since=${s.last}`;
        const socket = new WebSocket(url, v1 ? "alarms.v1" : undefined);
        const closed = new Promise<void>((resolve) => {
          socket.onclose = () => resolve();
          socket.onerror = () => resolve();
        });
        // Until the process dies, or the run is over and everything arrived.
        let hopped: () => void = () => {};
        const hopping = new Promise<void>((resolve) => hopped = resolve);
        socket.onmessage = (e) => {
          const frame = JSON.parse(e.data);
          if (!v1) got(frame.seq);
          else if (frame.type === "alarm") got(frame.alarm.seq);
          if (hop) {
            socket.onmessage = null; // what comes after the hop is the next connection's
            hopped();
          }
        };
        while (socket.readyState <= WebSocket.OPEN && stay()) {
          await Promise.race([closed, hopping, sleep(200)]);
        }
        socket.close();
        await closed;
      }
    } catch {
      // Refused or cut: reconnect.
    }
    if (hop) counts.hops++;
    else if (running || s.last < head(s.id)) {
      counts.reconnects++;
      await sleep(100 + random() * 400);
    }
  }
}

function head(id: string): number {
  return Math.max(0, ...accepted.get(id)!.values());
}

/** Kills a random process every few seconds and starts a new one; freezes denokv now and then. */
async function chaos(): Promise<void> {
  while (running) {
    await sleep(4000 + random() * 8000);
    if (!running) break;
    if (denokv && random() < 0.25) {
      counts.freezes++;
      denokv.freeze();
      await sleep(1000 + random() * 3000);
      denokv.thaw();
      continue;
    }
    const victim = pick(live);
    if (!victim) continue;
    counts.kills++;
    victim.proc.child.kill("SIGKILL");
    await victim.proc.status;
    // Clients keep trying it for a moment, as behind a load balancer that hasn't noticed yet.
    await sleep(500);
    live.splice(live.indexOf(victim), 1);
    await sleep(random() * 2000);
    live.push(await start(env));
  }
}

const subscribers: Subscriber[] = ids.flatMap((id) =>
  Array.from({ length: SUBSCRIBERS_PER_ID }, (_, i) => ({
    id,
    protocol: PROTOCOLS[i % PROTOCOLS.length]!,
    received: [],
    last: 0,
  }))
);
const subscribed = subscribers.map(subscribe);
const chaotic = chaos();
const publishes: Promise<void>[] = [];
const started = performance.now();
const total = Math.round(MINUTES * 60 * RATE);
for (let n = 0; n < total; n++) {
  await sleep(Math.max(0, started + n * 1000 / RATE - performance.now()));
  publishes.push(publishOne(n));
  counts.published++;
}
await Promise.all(publishes);
running = false;
await chaotic;
// Every subscriber catches up to its id's head (they reconnect on their own), within a minute.
const settled = Promise.all(subscribed);
await Promise.race([settled, sleep(60_000)]);

// The checks: each id's log against what was accepted, each subscriber against its id's log.
let lostStored = 0;
let storedTwice = 0;
let gaps = 0;
const base = live[0]!.http;
const logs = new Map<string, number[]>();
for (const id of ids) {
  const stored = await storedAlarms(base, id);
  const seqs = stored.map((a) => a.seq);
  logs.set(id, seqs);
  gaps += seqs.filter((seq, i) => seq !== i + 1).length > 0 ? 1 : 0;
  const byN = new Map<number, number>();
  for (const { n } of stored) if (n !== undefined) byN.set(n, (byN.get(n) ?? 0) + 1);
  for (const n of accepted.get(id)!.keys()) if (!byN.has(n)) lostStored++;
  for (const c of byN.values()) if (c > 1) storedTwice += c - 1;
}
let lost = 0;
let duplicated = 0;
let reordered = 0;
for (const s of subscribers) {
  const seen = new Set<number>();
  let highest = 0;
  for (const seq of s.received) {
    if (seen.has(seq)) duplicated++;
    else if (seq < highest) reordered++;
    seen.add(seq);
    highest = Math.max(highest, seq);
  }
  for (const seq of logs.get(s.id)!) if (!seen.has(seq)) lost++;
}
const delivered = subscribers.reduce((sum, s) => sum + s.received.length, 0);
const seconds = (performance.now() - started) / 1000;

for (const m of live) {
  m.proc.child.kill("SIGKILL");
  await m.proc.status;
}
await denokv?.[Symbol.asyncDispose]();
if (dir) await Deno.remove(dir, { recursive: true });

const acceptedCount = [...accepted.values()].reduce(
  (sum, m) => sum + m.size,
  0,
);
const failures = { lostStored, storedTwice, gaps, lost, duplicated, reordered };
const columns: [string, string | number][] = [
  ["store", STORE],
  ["processes", PROCESSES],
  ["minutes", (seconds / 60).toFixed(1)],
  ["alarms accepted", acceptedCount],
  ["deliveries", delivered],
  ["server kills", counts.kills],
  ["store freezes", counts.freezes],
  ["publish retries", counts.retries],
  ["reconnects after a kill", counts.reconnects],
  ["hops after an alarm", counts.hops],
  ["lost (store)", lostStored],
  ["stored twice", storedTwice],
  ["ids with log gaps", gaps],
  ["lost (delivery)", lost],
  ["delivered twice", duplicated],
  ["out of order", reordered],
];
// deno-lint-ignore no-console -- the report
console.log(
  [
    `| ${columns.map(([name]) => name).join(" | ")} |`,
    `| --- |${" --: |".repeat(columns.length - 1)}`,
    `| ${columns.map(([, value]) => value).join(" | ")} |`,
  ].join("\n"),
);
Deno.exit(Object.values(failures).every((n) => n === 0) ? 0 : 1);
