import { assert, assertEquals, assertLess } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { ServerProcess } from "./support/process.ts";
import { freePort } from "./support/ports.ts";
import { healthy, waitFor } from "./support/wait.ts";

/** Opens v1 sockets on `id` until they sit on at least two isolates. */
async function spread(ws: string, id: string): Promise<{ client: TestClient; instance: string }[]> {
  const clients: { client: TestClient; instance: string }[] = [];
  while (new Set(clients.map((c) => c.instance)).size < 2) {
    assertLess(clients.length, 40, "the kernel never balanced a connection to the second isolate");
    const client = await TestClient.open(`${ws}/websocket/${id}`, "alarms.v1");
    clients.push({ client, instance: (await client.nextJson()).instance });
  }
  return clients;
}

Deno.test("deno serve --parallel: alarms, sends and presence cross isolates through KV", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const ws = `ws://127.0.0.1:${port}`;
  const http = `http://127.0.0.1:${port}`;
  const proc = new ServerProcess(
    { SERVE_MODE: "export", KV_PATH: `${dir}/kv.sqlite3`, DENO_JOBS: "2" },
    ["serve", "--parallel", "--port", String(port), "--host", "127.0.0.1"],
  );
  const all: TestClient[] = [];
  try {
    await proc.waitForLine(/Listening on .* with 2 threads/, 15_000);
    const ps = await spread(ws, "p");
    const qs = await spread(ws, "q");
    all.push(...[...ps, ...qs].map((c) => c.client));

    const res = await fetch(`${http}/api/alarms/p`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ msg: "cross" }),
    });
    assertEquals(res.status, 202);
    const servedBy = res.headers.get("x-served-by");
    const body = await res.json();
    assertEquals(body.seq, 1);
    // Every socket of "p" gets it, including those on the isolate that did not take the POST.
    assert(ps.some((c) => c.instance !== servedBy));
    for (const { client } of ps) {
      const { alarm } = await client.nextJson();
      assertEquals([alarm.msg, alarm.seq, alarm.id, alarm.target], ["cross", 1, body.id, "p"]);
    }

    // A send from a "p" socket on one isolate reaches "q" sockets on both.
    ps[0]!.client.send(JSON.stringify({ type: "send", to: "q", data: "ping-q" }));
    for (const { client } of qs) {
      assertEquals(await client.nextJson(), { type: "message", from: "p", data: "ping-q" });
    }

    // Whichever isolate answers, it counts the sessions of both.
    const total = ps.length + qs.length;
    await waitFor(
      async () => (await (await fetch(`${http}/api/sessions`)).json()).sessions === total,
      10_000,
    );

    // Shutdown: every socket is closed and the process exits 0 within 5 s.
    const started = Date.now();
    proc.child.kill("SIGTERM");
    for (const client of all) {
      const { code } = await client.waitClosed();
      // Deno's own `deno serve` signal handling closes with 1001 before our 1012 gets out.
      assert(code === 1012 || code === 1001, `close code ${code}`);
    }
    assertEquals((await proc.status).code, 0);
    assertLess(Date.now() - started, 5000);
  } finally {
    for (const client of all) await client[Symbol.asyncDispose]();
    await proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start:parallel listens on HOST:PORT and stops on SIGTERM", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "start:parallel"],
    cwd: new URL("..", import.meta.url).pathname,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
      DENO_JOBS: "2",
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await healthy(`http://127.0.0.1:${port}`, 15_000);
  } finally {
    child.kill("SIGTERM");
  }
  const started = Date.now();
  await child.status;
  assertLess(Date.now() - started, 6000);
});
