/**
 * Several `main.ts` processes on one store, each holding legacy sockets on many ids, with a
 * record of every frame each socket received in arrival order: what cross-process delivery is
 * checked against.
 *
 * @module
 */
import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import { freePort } from "./ports.ts";
import { ServerProcess } from "./process.ts";
import { healthy, waitFor } from "./wait.ts";
import { within } from "./teardown.ts";

/** One process of the fleet and the sockets it holds. */
export interface Member {
  proc: ServerProcess;
  http: string;
  ws: string;
  /** Seqs received per `"<socket index>/<id>"`, in arrival order. */
  received: Map<string, number[]>;
  sockets: WebSocket[];
  /** Resolve as the sockets close. */
  closed: Promise<void>[];
}

/** Settings every process gets: no per-address limits, a short store deadline. */
const FLEET_ENV = {
  UPGRADES_PER_MINUTE: "0",
  MAX_SESSIONS_PER_ID: "100000",
  MAX_SESSIONS_PER_ADDRESS: "100000",
  MAX_SESSIONS: "1000000",
  STORE_TIMEOUT_SECONDS: "2",
  HEARTBEAT_TIMEOUT_SECONDS: "600",
  LOG_LEVEL: "warn",
};

/** Starts `count` processes with `env` (the store) and waits until each answers. */
export async function startFleet(count: number, env: Record<string, string>): Promise<Member[]> {
  return await Promise.all(Array.from({ length: count }, () => start(env)));
}

/** Starts one more process with `env` and waits until it answers. */
export async function start(env: Record<string, string>): Promise<Member> {
  // LOG_LEVEL=warn hides "listening": the port is chosen here instead.
  const port = freePort();
  const proc = new ServerProcess({ ...FLEET_ENV, ...env, PORT: String(port) });
  const http = `http://127.0.0.1:${port}`;
  await healthy(http, 15_000);
  return {
    proc,
    http,
    ws: http.replace("http", "ws"),
    received: new Map(),
    sockets: [],
    closed: [],
  };
}

/** Opens one legacy socket per id on `m`, recording every frame; resolves once all are open. */
export async function hold(m: Member, ids: string[]): Promise<void> {
  const opened = ids.map((id) => {
    const socket = new WebSocket(`${m.ws}/websocket/${id}`);
    const key = `${m.sockets.length}/${id}`;
    m.sockets.push(socket);
    m.received.set(key, []);
    socket.onmessage = (e) => m.received.get(key)!.push(JSON.parse(e.data).seq);
    m.closed.push(new Promise((resolve) => socket.addEventListener("close", () => resolve())));
    return new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onclose = (e) => reject(new Error(`Socket on ${id} closed: ${e.code} ${e.reason}`));
    });
  });
  await Promise.all(opened);
  // Registered server-side (the open event can come first).
  await waitFor(async () => (await metric(m, "sessions_open")) >= m.sockets.length, 15_000);
}

/** A gauge or counter from `/metrics` of `m`. */
export async function metric(m: Member, name: string): Promise<number> {
  const text = await (await fetch(`${m.http}/metrics`)).text();
  const match = new RegExp(`^alarmcast_${name} (\\d+)$`, "m").exec(text);
  assert(match, `no ${name} in /metrics`);
  return Number(match[1]);
}

/** POSTs `body` as JSON to `path` of `m`; returns the status (the body is dropped). */
export async function post(m: Member, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${m.http}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  return res.status;
}

/** POSTs an alarm to `id` through `m`; returns the status and JSON body. */
export async function publish(
  m: Member,
  id: string,
  body: Record<string, unknown>,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${m.http}/api/alarms/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Every socket on `id`, on every member, received exactly `1..last`, in order. */
export async function assertAllReceived(fleet: Member[], id: string, last: number): Promise<void> {
  const expected = Array.from({ length: last }, (_, i) => i + 1);
  const lists = () =>
    fleet.flatMap((m) => [...m.received].filter(([key]) => key.endsWith(`/${id}`)));
  assert(lists().length > 0, `no socket holds ${id}`);
  await waitFor(() => lists().every(([, seqs]) => seqs.length >= last), 15_000).catch(() => {});
  for (const [key, seqs] of lists()) assertEquals(seqs, expected, `${key}`);
}

/** Kills every process and waits until every socket has seen its connection go. */
export async function stopFleet(fleet: Member[]): Promise<void> {
  await Promise.all(fleet.map((m) => m.proc[Symbol.asyncDispose]()));
  await within("the fleet's sockets", Promise.all(fleet.flatMap((m) => m.closed)));
}

/** Processes in a proof fleet. */
export const PROCESSES = 3;
const IDS_PER_PROCESS = 1000;
const SHARED = ["s-0", "s-1", "s-2", "s-3", "s-4"];
const PER_PROCESS = 20;

/**
 * The proof every shared store must pass: `PROCESSES` separate `deno run main.ts` on it, each
 * holding sockets on its own 1,000 ids and on the shared ids; all of them publish to the shared
 * ids at once; every socket gets every alarm of its id exactly once, in seq order, and alarms
 * published through one process reach sockets held only by another.
 */
export async function crossProcessProof(fleet: Member[], delivery: string): Promise<void> {
  await Promise.all(
    fleet.map((m, p) =>
      hold(m, [...SHARED, ...Array.from({ length: IDS_PER_PROCESS }, (_, k) => `p${p}-${k}`)])
    ),
  );
  for (const m of fleet) {
    // Presence is written a moment after sessions open, and read through a 1 s snapshot.
    let health = { instances: 0, delivery: "" };
    await waitFor(async () => {
      health = await (await fetch(`${m.http}/healthz`)).json();
      return health.instances === PROCESSES;
    }, 5000).catch(() => {});
    assertEquals([health.instances, health.delivery], [PROCESSES, delivery]);
    // A watch stream or two, not one per id.
    assertLessOrEqual(await metric(m, "kv_watches"), 2);
  }
  // Every process publishes to the shared ids at once.
  const replies = await Promise.all(
    fleet.flatMap((m, p) =>
      Array.from(
        { length: PER_PROCESS },
        (_, i) => publish(m, SHARED[i % SHARED.length]!, { from: p, i }),
      )
    ),
  );
  assertEquals(replies.map((r) => r.status), replies.map(() => 202));
  const perId = PROCESSES * PER_PROCESS / SHARED.length;
  for (const id of SHARED) await assertAllReceived(fleet, id, perId);
  // Through each process to ids held only by the next one.
  for (const [p, m] of fleet.entries()) {
    const owner = (p + 1) % PROCESSES;
    for (const k of [0, 499, 999]) {
      assertEquals((await publish(m, `p${owner}-${k}`, { via: p })).status, 202);
      await assertAllReceived(fleet, `p${owner}-${k}`, 1);
    }
  }
}
