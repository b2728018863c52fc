/**
 * Conditions across real processes sharing one store (a SQLite file, and a real denokv): racing
 * acknowledgements, shelves and clears through both; exactly one of each race wins; new
 * conditions racing for an id's last places fill it exactly to its limit; both
 * processes' clients end with the same states as the store; a process killed right after its
 * answer loses no change, and a shelving outlives the process that shelved it.
 */
import { assertEquals } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { DENOKV, DenoKv } from "./support/denokv.ts";
import { type Member, post, start, startFleet, stopFleet } from "./support/fleet.ts";
import { freePort } from "./support/ports.ts";
import { waitFor } from "./support/wait.ts";

const ID = "plant-9";
const KEYS = Array.from({ length: 8 }, (_, i) => `line-${i}/pressure`);
/** `MAX_CONDITIONS` of every process here: room for `KEYS` and one more on `ID`. */
const LIMIT = 10;

const act = (m: Member, key: string, action: string, body: unknown = {}) =>
  post(m, `/api/conditions/${ID}/${encodeURIComponent(key)}/${action}`, body);

/** A v1 client recording the last condition state it saw per key (applied by seq). */
async function watcher(m: Member) {
  const client = await TestClient.open(`${m.ws}/websocket/${ID}`, "alarms.v1");
  const states = new Map<string, { seq: number; state: string; shelved: boolean }>();
  let last = 0;
  const apply = (c: { key: string; seq: number; state: string; shelved?: unknown }) => {
    if ((states.get(c.key)?.seq ?? 0) < c.seq) {
      states.set(c.key, { seq: c.seq, state: c.state, shelved: c.shelved !== undefined });
    }
  };
  const pump = async () => {
    for (;;) {
      const frame = await client.nextJson(60_000).catch(() => undefined);
      if (frame === undefined) return;
      if (frame.type === "conditions") frame.conditions.forEach(apply);
      if (frame.condition) apply(frame.condition);
      if (typeof frame.seq === "number") last = Math.max(last, frame.seq);
      if (frame.type === "alarm") last = Math.max(last, frame.alarm.seq);
    }
  };
  const pumping = pump();
  return {
    states,
    seen: () => last,
    async [Symbol.asyncDispose]() {
      await client[Symbol.asyncDispose]();
      await pumping;
    },
  };
}

async function race(fleet: Member[], env: Record<string, string>): Promise<void> {
  const [a, b] = fleet as [Member, Member];
  await using wa = await watcher(a);
  await using wb = await watcher(b);
  for (const key of KEYS) assertEquals(await post(a, `/api/alarms/${ID}`, { key }), 202);

  // New conditions raised at once through both processes fill another id's list exactly to its
  // limit (`MAX_CONDITIONS`), and both processes list the same.
  const raised = await Promise.all(
    Array.from(
      { length: 2 * LIMIT },
      (_, i) => post(i % 2 ? a : b, `/api/alarms/cap-9`, { key: `k${i}` }),
    ),
  );
  assertEquals([raised.filter((s) => s === 202).length, raised.filter((s) => s === 409).length], [
    LIMIT,
    LIMIT,
  ]);
  for (const m of fleet) {
    const listed = await (await fetch(`${m.http}/api/conditions/cap-9`)).json();
    assertEquals(listed.conditions.length, LIMIT);
  }

  // Everyone acknowledges everything at once through both processes: one wins per condition.
  const acks = await Promise.all(
    KEYS.flatMap((key) => [act(a, key, "acknowledge"), act(b, key, "acknowledge")]),
  );
  assertEquals(acks.filter((s) => s === 200).length, KEYS.length);
  assertEquals(acks.filter((s) => s === 409).length, KEYS.length);

  // Shelve through one, clear through the other: either order is allowed, the end is the same.
  const raced = await Promise.all(
    KEYS.flatMap((key, i) => [
      act(i % 2 ? a : b, key, "shelve", { reason: "race", durationSeconds: 600 }),
      act(i % 2 ? b : a, key, "clear"),
    ]),
  );
  assertEquals(raced.filter((s) => s === 200 || s === 409).length, raced.length);
  assertEquals(raced.filter((s) => s === 200).length >= KEYS.length, true); // every clear lands

  // The store and both processes' clients agree: every condition normal, none shelved.
  const head = Number((await (await fetch(`${a.http}/api/sessions/${ID}`)).json()).seq);
  await waitFor(() => wa.seen() >= head && wb.seen() >= head, 15_000);
  for (const m of fleet) {
    const all = await (await fetch(`${m.http}/api/conditions/${ID}?state=all`)).json();
    assertEquals(
      all.conditions.map((c: { state: string; shelved?: unknown }) => [c.state, "shelved" in c]),
      KEYS.map(() => ["normal", false]),
    );
  }
  for (const w of [wa, wb]) {
    assertEquals(
      [...w.states.values()].map((s) => [s.state, s.shelved]),
      KEYS.map(() => ["normal", false]),
    );
  }

  // A process killed right after answering: the change is stored, the other process delivers it.
  assertEquals(await post(a, `/api/alarms/${ID}`, { key: "last" }), 202);
  assertEquals(await act(a, "last", "acknowledge"), 200);
  a.proc.child.kill("SIGKILL");
  await waitFor(() => wb.states.get("last")?.state === "active-acknowledged", 15_000);

  // A shelving whose process is killed before it ends: a process started later ends it.
  assertEquals(await act(b, "last", "shelve", { reason: "swap", durationSeconds: 1 }), 200);
  b.proc.child.kill("SIGKILL");
  const c = await start(env);
  fleet.push(c); // stopped with the others
  const path = `/api/conditions/${ID}/last`;
  await waitFor(async () => !("shelved" in await (await fetch(`${c.http}${path}`)).json()), 15_000);
  const { history } = await (await fetch(`${c.http}${path}`)).json();
  assertEquals(
    history.at(-1).transition.action + " by " + history.at(-1).transition.by,
    "expire by system",
  );
}

Deno.test("conditions across two processes on one SQLite file: races converge, nothing lost", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/kv.sqlite3`, MAX_CONDITIONS: String(LIMIT) };
  const fleet = await startFleet(2, env);
  try {
    await race(fleet, env);
  } finally {
    await stopFleet(fleet);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "conditions across two processes on a real denokv: races converge, nothing lost",
  ignore: DENOKV === undefined,
  async fn() {
    await using kv = await DenoKv.start(DENOKV!, freePort());
    const env = { KV_PATH: kv.url, DENO_KV_ACCESS_TOKEN: kv.token, MAX_CONDITIONS: String(LIMIT) };
    const fleet = await startFleet(2, env);
    try {
      await race(fleet, env);
    } finally {
      await stopFleet(fleet);
    }
  },
});
