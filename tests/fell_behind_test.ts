/**
 * A process that falls behind another's publishes by more than retention (stopped, or starved
 * of CPU) must not let its live clients jump over what left the log: two real processes on one
 * SQLite file, the client library on the second; while it is stopped (SIGSTOP), the first
 * acknowledges and clears every condition and publishes past retention. Once it runs again its
 * client, still connected, is told of the hole and lists what the store lists.
 */
import { assert, assertEquals } from "@std/assert";
import { AlarmClient } from "../lib/web/client.js";
import { type Member, post, start } from "./support/fleet.ts";
import { waitFor } from "./support/wait.ts";

const ID = "behind-1";
const KEYS = ["pump-1/flow", "pump-2/flow", "pump-3/flow"];

/** POSTs through `m`, which must take it (202 for an alarm, 200 for an action). */
async function send(m: Member, path: string, body: unknown): Promise<void> {
  const status = await post(m, path, body);
  assert(status === 200 || status === 202, `${path}: ${status}`);
}

Deno.test("a process that fell behind past retention tells its live clients of the hole, and sends their conditions afresh", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alarmcast-behind-" });
  const env = { KV_PATH: `${dir}/shared.sqlite3`, RETENTION_COUNT: "10" };
  const a = await start(env);
  const b = await start(env);
  const client = new AlarmClient({ url: b.http, id: ID, minDelayMs: 20, maxDelayMs: 100 });
  const gaps: { since: number; firstAvailable: number }[] = [];
  const statuses: string[] = [];
  client.addEventListener("gap", (e) => gaps.push((e as CustomEvent).detail));
  client.addEventListener("status", (e) => statuses.push((e as CustomEvent).detail.status));
  client.start();
  try {
    await waitFor(() => client.status === "online", 15_000);
    for (const key of KEYS) await send(a, `/api/alarms/${ID}`, { key, level: "major" });
    await waitFor(() => client.conditions.length === KEYS.length, 15_000);

    Deno.kill(b.proc.child.pid, "SIGSTOP");
    try {
      for (const key of KEYS) {
        for (const action of ["acknowledge", "clear"]) {
          await send(a, `/api/conditions/${ID}/${encodeURIComponent(key)}/${action}`, {});
        }
      }
      for (let n = 0; n < 20; n++) await send(a, `/api/alarms/${ID}`, { n });
    } finally {
      Deno.kill(b.proc.child.pid, "SIGCONT");
    }
    const head = (await (await fetch(`${a.http}/api/alarms/${ID}?limit=1`)).json()).seq;
    assertEquals(head, KEYS.length * 3 + 20);
    // Every condition went back to normal while b was stopped, in entries no longer retained.
    await waitFor(() => client.lastSeq === head && client.conditions.length === 0, 15_000);
    // One hole, from what it had (the three raises) to the first alarm retained; never offline.
    assertEquals(gaps.length, 1);
    assertEquals(gaps[0]!.since, KEYS.length);
    assert(gaps[0]!.firstAvailable > KEYS.length + 1 && gaps[0]!.firstAvailable <= head - 9);
    assertEquals(statuses, ["connecting", "online"]);
  } finally {
    client.stop();
    await a.proc[Symbol.asyncDispose]();
    await b.proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});
