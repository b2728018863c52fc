import { assert, assertEquals, assertLess } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { DENOKV, DenoKv } from "./support/denokv.ts";
import { freePort } from "./support/ports.ts";
import { ServerProcess } from "./support/process.ts";
import { waitFor } from "./support/wait.ts";
import { WebhookReceiver } from "./support/webhook_receiver.ts";

const SECRET = "w".repeat(32);

async function send(port: number, method: string, path: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function history(port: number, id: string) {
  return (await (await fetch(`http://127.0.0.1:${port}/api/alarms/${id}`)).json()).alarms;
}

async function metric(port: number, line: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return Number(found?.split(" ")[1] ?? NaN);
}

/** Escalation records still in the store (deadlines, leases, pending webhook attempts). */
async function pending(open: () => Promise<Deno.Kv>): Promise<number> {
  const kv = await open();
  try {
    return (await Array.fromAsync(kv.list({ prefix: ["due"] }))).length;
  } finally {
    kv.close();
  }
}

/**
 * Two main.ts processes on the store `env` names (opened here with `open`) escalate 20 alarms,
 * published half through each, exactly once each: one claim, one webhook, one escalation alarm.
 */
async function exactlyOnce(env: Record<string, string>, open: () => Promise<Deno.Kv>) {
  await using receiver = new WebhookReceiver();
  const settings = {
    ...env,
    ESCALATION_SCAN_MS: "100",
    WEBHOOK_ALLOWED_ORIGINS: receiver.origin,
    WEBHOOK_SECRET: SECRET,
  };
  await using a = new ServerProcess(settings);
  await using b = new ServerProcess(settings);
  const ports = [await a.port(), await b.port()] as const;
  const policy = {
    match: { prefixes: ["plant-"] },
    ackWithinSeconds: 1,
    escalateTo: ["shift-lead"],
    webhook: `${receiver.origin}/hook`,
  };
  // Each process learns its own change at once (the other's through the store's watch).
  for (const port of ports) {
    assert([200, 201].includes((await send(port, "PUT", "/api/policies/all", policy)).status));
  }
  for (let i = 0; i < 20; i++) {
    const reply = await send(ports[i % 2]!, "POST", `/api/alarms/plant-${i % 4}`, { i });
    assertEquals(reply.status, 202);
  }
  await waitFor(async () => (await pending(open)) === 0, 15_000);
  const fired = (await Promise.all(
    ports.map((p) => metric(p, 'alarmcast_escalations_total{outcome="escalated"}')),
  )).reduce((x, y) => x + y, 0);
  assertEquals(fired, 20);
  const keys = receiver.requests.map((r) => r.headers.get("idempotency-key"));
  assertEquals(keys.length, 20);
  assertEquals(new Set(keys).size, 20);
  const lead = await history(ports[1], "shift-lead");
  assertEquals(lead.length, 20);
  const refs = lead.map((e: { escalation: { target: string; seq: number } }) =>
    `${e.escalation.target}#${e.escalation.seq}`
  );
  assertEquals(new Set(refs).size, 20);
}

Deno.test("two processes on one SQLite file escalate each unacknowledged alarm exactly once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite3`;
  try {
    await exactlyOnce({ KV_PATH: path }, () => Deno.openKv(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "two processes on a denokv (KV Connect, as on Deploy) escalate each alarm exactly once",
  ignore: DENOKV === undefined,
  async fn() {
    await using kv = await DenoKv.start(DENOKV!, freePort());
    // Deno.openKv takes the access token from the environment only.
    const previous = Deno.env.get("DENO_KV_ACCESS_TOKEN");
    Deno.env.set("DENO_KV_ACCESS_TOKEN", kv.token);
    try {
      await exactlyOnce(
        { KV_PATH: kv.url, DENO_KV_ACCESS_TOKEN: kv.token },
        () => Deno.openKv(kv.url),
      );
    } finally {
      if (previous === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
      else Deno.env.set("DENO_KV_ACCESS_TOKEN", previous);
    }
  },
});

Deno.test("a pending deadline survives SIGKILL: the restarted process escalates it", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/kv.sqlite3` };
  try {
    let ackBy: number;
    {
      await using first = new ServerProcess(env);
      const port = await first.port();
      await send(port, "PUT", "/api/policies/boilers", {
        match: { ids: ["plant-3"] },
        ackWithinSeconds: 3,
        escalateTo: ["shift-lead"],
      });
      const published = await send(port, "POST", "/api/alarms/plant-3", { level: "critical" });
      assertEquals(published.status, 202);
      ackBy = Date.parse((await history(port, "plant-3"))[0].ackBy);
      first.child.kill("SIGKILL");
      assertEquals((await first.status).signal, "SIGKILL");
    }
    assertLess(Date.now(), ackBy); // killed before the deadline
    await using second = new ServerProcess(env);
    const port = await second.port();
    await using lead = await TestClient.open(`ws://127.0.0.1:${port}/websocket/shift-lead?since=0`);
    const escalation = JSON.parse(await lead.next(10_000));
    assert(Date.now() >= ackBy);
    assertEquals(escalation.kind, "escalation");
    assertEquals([escalation.escalation.target, escalation.escalation.seq], ["plant-3", 1]);
    assertEquals(escalation.escalation.deadline, new Date(ackBy).toISOString());
    assertEquals((await second.waitFor("escalated")).seq, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
