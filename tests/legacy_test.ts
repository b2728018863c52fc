import { assert, assertEquals } from "@std/assert";
import { TokenKeys } from "../lib/core/mod.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { ServerProcess } from "./support/process.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const SECRET = "s".repeat(32);
const KEY = "k".repeat(24);

Deno.test("the old page gets only alarms, across several ids and tabs, newest first", async () => {
  await using server = await startServer();
  // Two tabs of the old page: one watching ids 1 and 2, one watching id 1 only.
  await using tab1 = new LegacyPage(server.ws, ["1", "2"], 20);
  await using tab2 = new LegacyPage(server.ws, ["1"], 20);
  await tab1.opened();
  await tab2.opened();

  const first = await server.post("/api/alarms/1", {
    level: "high",
    msg: "boiler",
    createTime: "2026-01-01T10:00:00Z",
  });
  assertEquals(first.status, 202);
  assertEquals(first.body.delivered, 2);
  const second = await server.post("/api/alarms/2", {
    level: "low",
    msg: "door",
    createTime: "2026-01-01T11:00:00Z",
  });
  assertEquals(second.body.delivered, 1);
  const third = await server.post("/api/alarms/1", { level: "low", msg: "fan" });
  assertEquals(third.body.seq, 2);

  await tab1.until(() => tab1.list.length === 3 && tab1.pings >= 4);
  await tab2.until(() => tab2.list.length === 2 && tab2.pings >= 2);
  // createTime order, newest first: the server-stamped one is "now" on the fake clock (2026-01-01T00:00).
  assertEquals(tab1.list.map((a) => a.msg), ["door", "boiler", "fan"]);
  assertEquals(tab2.list.map((a) => a.msg), ["boiler", "fan"]);
  assertEquals(tab1.list[1], {
    level: "high",
    msg: "boiler",
    createTime: "2026-01-01T10:00:00Z",
    id: first.body.id,
    seq: 1,
    target: "1",
  });
  // Once the server has taken six PINGs, a last alarm: any reply to a PING would arrive before it.
  await tab1.until(() => server.app.metrics.framesIn >= 6);
  await server.post("/api/alarms/1", { msg: "last", createTime: "2026-01-02T00:00:00Z" });
  await tab1.until(() => tab1.list.length === 4);
  await tab2.until(() => tab2.list.length === 3);
  assertEquals(tab1.list[0]!.msg, "last");
  // The PINGs were accepted silently: nothing but alarms ever arrived.
  assertEquals(tab1.problems, []);
  assertEquals(tab2.problems, []);
  assertEquals(server.app.metrics.errorCount("legacy_ignored"), 0);
});

Deno.test("ids are isolated: an alarm reaches only its own id", async () => {
  await using server = await startServer();
  await using a = new LegacyPage(server.ws, ["a"], 1000);
  await using ab = new LegacyPage(server.ws, ["ab", "a.b"], 1000);
  await a.opened();
  await ab.opened();
  assertEquals((await server.post("/api/alarms/ab", { n: 1 })).body.delivered, 1);
  assertEquals((await server.post("/api/alarms/a", { n: 2 })).body.delivered, 1);
  assertEquals((await server.post("/api/alarms/nobody", { n: 3 })).body.delivered, 0);
  await a.until(() => a.list.length === 1);
  await ab.until(() => ab.list.length === 1);
  // A final alarm to each proves nothing else was in flight.
  await server.post("/api/alarms/a", { n: 4 });
  await a.until(() => a.list.length === 2);
  assertEquals(a.list.map((x) => x.n).sort(), [2, 4]);
  assertEquals(ab.list.map((x) => x.n), [1]);
  assertEquals(ab.list[0]!.target, "ab");
});

Deno.test("docs/java.md's page for tokens, as printed: resumes with since, and shows a restarted log's alarms", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/java.md", import.meta.url));
  const code = /## The old Vue page, once tokens are on[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
  assert(code?.includes(":8080"), "the page's code is missing from docs/java.md");
  const dir = await Deno.makeTempDir();
  const env = { WS_TOKEN_SECRET: SECRET, ALARM_API_KEY: KEY, KV_PATH: `${dir}/kv.sqlite3` };
  const first = new ServerProcess(env);
  const port = await first.port();
  const token = await new TokenKeys([SECRET]).sign("plant-3", Date.now() + 600_000);
  // The page in a process of its own, as a browser holds it; its backend's token endpoint, its
  // location and its list are stubbed, and each alarm it shows is a line.
  const script = `${dir}/page.js`;
  await Deno.writeTextFile(
    script,
    "const list = { push: (alarm) => console.log(JSON.stringify(alarm)) };\n" +
      'const location = { hostname: "127.0.0.1" };\n' +
      `globalThis.fetch = () => Promise.resolve(Response.json({ token: "${token}" }));\n` +
      code!.replaceAll(":8080", `:${port}`),
  );
  const page = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const shown: { seq: number; msg: string }[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of page.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      shown.push(...lines.map((line) => JSON.parse(line)));
    }
  })();
  const publish = (msg: string) =>
    fetch(`http://127.0.0.1:${port}/api/alarms/plant-3`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ msg }),
    }).then((res) => res.json());
  const online = (n: number) =>
    waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/sessions/plant-3`, {
        headers: { authorization: `Bearer ${KEY}` },
      }).catch(() => undefined);
      return (await res?.json().catch(() => undefined))?.count === n;
    }, 15_000);
  const servers = [first];
  const restart = async (kvPath: string) => {
    const before = servers.at(-1)!;
    before.child.kill("SIGTERM"); // the page gets 1012, and comes back
    await before.status;
    const next = new ServerProcess({ ...env, KV_PATH: kvPath, PORT: String(port) });
    servers.push(next);
    await next.port();
  };
  try {
    await online(1);
    for (const msg of ["a", "b", "c"]) await publish(msg);
    await waitFor(() => shown.length === 3);
    // A restart on the same store, published to at once: the page resumes from seq 3.
    await restart(env.KV_PATH);
    await publish("d");
    await online(1);
    await waitFor(() => shown.length === 4);
    // A store that starts empty (restored, replaced): its seqs begin anew, and the page shows them.
    await restart(":memory:");
    await online(1);
    for (const msg of ["after 1", "after 2"]) await publish(msg);
    await waitFor(() => shown.length === 6);
    assertEquals(shown.map((a) => [a.seq, a.msg]), [
      [1, "a"],
      [2, "b"],
      [3, "c"],
      [4, "d"],
      [1, "after 1"],
      [2, "after 2"],
    ]);
  } finally {
    page.kill("SIGKILL");
    await page.status;
    await reading;
    for (const server of servers) await server[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});
