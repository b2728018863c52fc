import { assert, assertEquals, assertLess } from "@std/assert";
import { type Alarm, AlarmClient, type Status } from "../lib/web/client.js";
import { TokenKeys } from "../lib/core/mod.ts";
import { FaultyKv } from "./support/faulty_kv.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";
import { freePort } from "./support/ports.ts";
import { NoUpgradeProxy } from "./support/no_upgrade_proxy.ts";

/** Collects what a client emits. */
function watch(client: AlarmClient) {
  const seen = {
    alarms: [] as Alarm[],
    statuses: [] as Status[],
    errors: [] as string[],
    /** Each error's `code action key` (the action and key when the client names them). */
    refusals: [] as string[],
    codes: [] as number[],
  };
  client.addEventListener("alarm", (e) => seen.alarms.push((e as CustomEvent<Alarm>).detail));
  client.addEventListener("status", (e) => {
    const { status, code } = (e as CustomEvent<{ status: Status; code?: number }>).detail;
    seen.statuses.push(status);
    if (code !== undefined) seen.codes.push(code);
  });
  client.addEventListener("error", (e) => {
    const { code, action, key } = (e as CustomEvent<Record<string, string>>).detail;
    seen.errors.push(code!);
    seen.refusals.push([code, action, key].filter((part) => part !== undefined).join(" "));
  });
  return seen;
}

Deno.test("client: connects, receives alarms in order, and reports its status", async () => {
  await using server = await startServer();
  const client = new AlarmClient({ url: server.http, id: "c1" });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    for (let i = 1; i <= 3; i++) await server.post("/api/alarms/c1", { i });
    await waitFor(() => seen.alarms.length === 3);
    assertEquals(seen.alarms.map((a) => a.seq), [1, 2, 3]);
    assertEquals(seen.statuses, ["connecting", "online"]);
    assertEquals(client.lastSeq, 3);
    assert(client.ack(3));
    await waitFor(async () => (await server.get("/api/sessions/c1")).body.acked === 3);
  } finally {
    client.stop();
  }
  assertEquals(client.status, "offline");
});

Deno.test("client: another client's ack is an ack event, also one made before it connected", async () => {
  await using server = await startServer();
  for (let i = 1; i <= 3; i++) await server.post("/api/alarms/ak", { i });
  assertEquals((await server.post("/api/acks/ak", { seq: 2 })).status, 200);
  const client = new AlarmClient({ url: server.http, id: "ak", since: 0 });
  const acks: unknown[] = [];
  client.addEventListener("ack", (e) => acks.push((e as CustomEvent).detail));
  client.start();
  try {
    await waitFor(() => acks.length === 1);
    assertEquals(acks, [{ id: "ak", seq: 2 }]);
    assertEquals((await server.post("/api/acks/ak", { seq: 3 })).status, 200);
    await waitFor(() => acks.length === 2);
    assertEquals(acks[1], { id: "ak", seq: 3 });
  } finally {
    client.stop();
  }
});

Deno.test("client: after a server restart close it reconnects and gets what it missed, once, in order", async () => {
  await using server = await startServer();
  const client = new AlarmClient({ url: server.ws, id: "c2", minDelayMs: 50 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    await server.post("/api/alarms/c2", { n: 1 });
    await waitFor(() => seen.alarms.length === 1);
    // The server drops every session (as on restart), alarms arrive while the client is away.
    server.app.hub.closeAll(1012, "service restart");
    await waitFor(() => seen.statuses.includes("reconnecting"));
    for (let n = 2; n <= 4; n++) await server.post("/api/alarms/c2", { n });
    await waitFor(() => seen.alarms.length === 4);
    assertEquals(seen.alarms.map((a) => a.n), [1, 2, 3, 4]);
    assertEquals(seen.codes, [1012]);
    await waitFor(() => client.status === "online");
  } finally {
    client.stop();
  }
});

Deno.test("client: a drop before its first alarm still resumes from the welcome's seq", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/c3", { old: true });
  const client = new AlarmClient({ url: server.http, id: "c3", minDelayMs: 50 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    assertEquals(client.lastSeq, 1);
    server.app.hub.closeAll(4008, "slow consumer");
    await waitFor(() => seen.statuses.includes("reconnecting"));
    await server.post("/api/alarms/c3", { missed: true });
    await waitFor(() => seen.alarms.length === 1);
    assertEquals(seen.alarms[0]!.missed, true); // not the old one, not lost
  } finally {
    client.stop();
  }
});

Deno.test("client: an expired token is replaced through getToken", async () => {
  const keys = new TokenKeys(["s".repeat(32)]);
  await using server = await startServer({ config: { tokenSecrets: ["s".repeat(32)] } });
  let minted = 0;
  const client = new AlarmClient({
    url: server.http,
    id: "c4",
    minDelayMs: 20,
    getToken: () => (minted++, keys.sign("c4", server.clock.time + 60_000)),
  });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    assertEquals(minted, 1);
    server.clock.advance(60_000);
    server.app.sweep(); // closes with 4001
    await waitFor(() => minted === 2 && client.status === "online");
    assertEquals(seen.codes, [4001]);
  } finally {
    client.stop();
  }
});

Deno.test("client: a refused connection asks for a new token each time, with growing backoff", async () => {
  await using server = await startServer({ config: { tokenSecrets: ["s".repeat(32)] } });
  const asked: number[] = [];
  const client = new AlarmClient({
    url: server.http,
    id: "c5",
    minDelayMs: 20,
    maxDelayMs: 100,
    random: () => 0.999, // the top of each jitter range: delays of 20, 40, 80, 100, 100 ms
    getToken: () => Promise.resolve(`bad-token-${asked.push(Date.now())}`),
  });
  client.start();
  try {
    await waitFor(() => asked.length >= 6, 10_000);
    const gaps = asked.slice(1).map((t, i) => t - asked[i]!);
    const expected = [20, 40, 80, 100, 100];
    gaps.slice(0, 5).forEach((gap, i) => assert(gap >= expected[i]! * 0.95, `gap ${i}: ${gap} ms`));
    assertLess(gaps[4]!, 1000);
    assertEquals(client.status, "reconnecting");
  } finally {
    client.stop();
  }
  assert(server.app.metrics.errorCount("invalid_token") >= 5);
});

/** A scripted socket: frames are pushed by the test. */
class ScriptedSocket extends EventTarget {
  static last: ScriptedSocket | undefined;
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  sent: string[] = [];
  constructor(readonly url: string) {
    super();
    ScriptedSocket.last = this;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(value: unknown) {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

Deno.test("client: duplicates are dropped by seq; a policy close stops it for good", async () => {
  const client = new AlarmClient({
    url: "ws://example.test",
    id: "d",
    since: 5,
    minDelayMs: 1,
    WebSocket: ScriptedSocket as unknown as typeof WebSocket,
  });
  const seen = watch(client);
  client.start();
  const socket = ScriptedSocket.last!;
  assertEquals(socket.url, "ws://example.test/websocket/d?since=5");
  socket.open();
  socket.frame({ type: "welcome", seq: 9, heartbeatInterval: 60_000 });
  for (const seq of [4, 5, 6, 6, 7, 5, 8]) {
    socket.frame({ type: "alarm", alarm: { seq, target: "d" } });
  }
  assertEquals(seen.alarms.map((a) => a.seq), [6, 7, 8]);
  socket.close(1008, "too many invalid messages");
  assertEquals(client.status, "offline");
  assertEquals(seen.errors, ["closed"]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals(ScriptedSocket.last, socket, "no reconnect after a policy violation");
});

// Before Deno 2.9 `deno bundle` downloads esbuild from npm at first use; the bundling itself is
// the same, so it is tested on the Deno that needs nothing.
const [major = 0, minor = 0] = Deno.version.deno.split(".").map(Number);
const bundlesOffline = major > 2 || (major === 2 && minor >= 9);

Deno.test({
  name: "client: the vendored /v1/client.js goes through a bundler as is and still delivers",
  ignore: !bundlesOffline,
}, async () => {
  await using server = await startServer();
  // As docs/protocol.md says: download the stable URL into the app, import it, bundle the app.
  const dir = await Deno.makeTempDir();
  const served = await fetch(`${server.http}/v1/client.js`);
  assertEquals(served.status, 200);
  await Deno.writeTextFile(`${dir}/alarmcast-client.js`, await served.text());
  await Deno.writeTextFile(
    `${dir}/app.js`,
    'export { AlarmClient } from "./alarmcast-client.js";\n',
  );
  const bundled = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--no-config",
      "--platform",
      "browser",
      "-o",
      `${dir}/out.js`,
      `${dir}/app.js`,
    ],
    env: { NO_COLOR: "1", DENO_DIR: `${dir}/cache` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
  const { AlarmClient: Bundled } = await import(`file://${dir}/out.js`);
  const client = new Bundled({ url: server.http, id: "bundled" });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    await server.post("/api/alarms/bundled", { via: "bundle" });
    await waitFor(() => seen.alarms.length === 1);
    assertEquals(seen.alarms[0]?.via, "bundle");
  } finally {
    client.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client: where upgrades are refused it falls back to SSE, keeps its cursor and acks over HTTP", async () => {
  await using server = await startServer();
  await using proxy = new NoUpgradeProxy(server.http);
  await server.post("/api/alarms/fb", { n: 1 });
  const client = new AlarmClient({ url: proxy.url, id: "fb", since: 0, minDelayMs: 10 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online");
    assertEquals(client.transport, "sse");
    await server.post("/api/alarms/fb", { n: 2 });
    await waitFor(() => seen.alarms.length === 2);
    assertEquals(seen.alarms.map((a) => a.seq), [1, 2]);
    assert(client.ack(2));
    await waitFor(async () => (await server.get("/api/sessions/fb")).body.acked === 2);
    assertEquals(client.send("fb", "x"), false); // streams only receive
    // The server restarts the stream (1012): the client resumes after seq 2, nothing doubled.
    server.app.hub.closeAll(1012, "service restart");
    await server.post("/api/alarms/fb", { n: 3 });
    await waitFor(() => seen.alarms.length === 3);
    assertEquals(seen.alarms.map((a) => a.seq), [1, 2, 3]);
    assertEquals(seen.codes.includes(1012), true);
    // A WebSocket is tried again now and then (from 10 × minDelayMs): refused, it stays on SSE.
    await waitFor(() => proxy.refused >= 4);
    assertEquals([client.transport, client.status], ["sse", "online"]);
  } finally {
    client.stop();
  }
});

Deno.test("client: fallen back to SSE while the server was restarting, it goes back to WebSockets once they open", async () => {
  await using server = await startServer();
  // The first two sockets meet a closed port, as during a restart; the rest reach the server.
  const closed = freePort();
  let refusals = 2;
  class RestartingSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[] | WebSocketOptions) {
      super(refusals-- > 0 ? `ws://127.0.0.1:${closed}/` : url, protocols);
    }
  }
  await server.post("/api/alarms/back", { n: 1 });
  const client = new AlarmClient({
    url: server.http,
    id: "back",
    since: 0,
    minDelayMs: 10,
    WebSocket: RestartingSocket,
  });
  const seen = watch(client);
  // What a badge shows from the first time online: never "reconnecting" for the switch.
  const shown: string[] = [];
  client.addEventListener("status", (e) => {
    const { status, transport } = (e as CustomEvent<{ status: string; transport: string }>).detail;
    if (status === "online" || shown.length > 0) shown.push(`${status} ${transport}`);
  });
  client.start();
  try {
    await waitFor(() => shown.length === 2);
    assertEquals([shown, client.transport], [["online sse", "online websocket"], "websocket"]);
    await server.post("/api/alarms/back", { n: 2 });
    await waitFor(() => seen.alarms.length === 2);
    assertEquals(seen.alarms.map((a) => a.seq), [1, 2]);
    assert(client.send("back", "on a socket again"));
  } finally {
    client.stop();
  }
});

/** The keys and states of a client's active conditions. */
const listed = (client: AlarmClient) =>
  client.conditions.map((
    c: { key: string; state: string; count: number },
  ) => [c.key, c.state, c.count]);

for (const transport of ["websocket", "sse"] as const) {
  Deno.test(`client (${transport}): keeps the id's active conditions across changes and reconnects, and acts on them`, async () => {
    await using server = await startServer();
    await server.post("/api/alarms/cl", { key: "a" }); // before the client: in its snapshot
    const client = new AlarmClient({
      url: server.http,
      id: "cl",
      transports: [transport],
      minDelayMs: 10,
    });
    const seen = watch(client);
    const actions: string[] = [];
    client.addEventListener("transition", (e) => {
      actions.push((e as CustomEvent<{ transition: { action: string } }>).detail.transition.action);
    });
    client.start();
    try {
      await waitFor(() => client.status === "online" && client.conditions.length === 1);
      await server.post("/api/alarms/cl", { key: "b" });
      await server.post("/api/alarms/cl", { key: "b" });
      await waitFor(() => listed(client).length === 2 && listed(client)[0]![2] === 2);
      assertEquals(listed(client), [["b", "active-unacknowledged", 2], [
        "a",
        "active-unacknowledged",
        1,
      ]]);
      assert(client.acknowledge("b", { comment: "seen" }));
      await waitFor(() => listed(client)[0]![1] === "active-acknowledged");
      // Cleared while the client is away: it learns it on its way back.
      server.app.hub.closeAll(1012, "service restart");
      await server.post("/api/conditions/cl/b/clear", {});
      await waitFor(() => client.status === "online" && listed(client).length === 1);
      assertEquals(listed(client), [["a", "active-unacknowledged", 1]]);
      assert(client.shelve("a", { reason: "sensor swap", durationSeconds: 60 }));
      await waitFor(() => client.conditions[0]?.shelved !== undefined);
      assert(client.unshelve("a"));
      await waitFor(() => client.conditions[0]?.shelved === undefined);
      assertEquals(actions, ["acknowledge", "clear", "shelve", "unshelve"]);
      // A refused action comes back as an error with the server's code, naming the action,
      // among others that succeed.
      assert(client.acknowledge("a"));
      assert(client.unshelve("a"));
      assert(client.acknowledge("nope"));
      await waitFor(() => seen.errors.length === 2);
      await waitFor(() => listed(client)[0]?.[1] === "active-acknowledged");
      assertEquals(seen.refusals.sort(), [
        "not_shelved unshelve a",
        "unknown_condition acknowledge nope",
      ]);
      assertEquals(seen.alarms.map((a) => a.key), ["b", "b"]); // "a" came in the snapshot
    } finally {
      client.stop();
    }
  });
}

Deno.test("client: an action still unanswered when the socket closes is reported unconfirmed", async () => {
  using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using server = await startServer({ kv });
  await server.post("/api/alarms/uc", { key: "valve 3" });
  const client = new AlarmClient({ url: server.http, id: "uc", minDelayMs: 10 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online" && client.conditions.length === 1);
    const commits = kv.calls.commit;
    kv.hung = true; // the acknowledgement waits on the store: no answer yet
    assert(client.acknowledge("valve 3"));
    await waitFor(() => kv.calls.commit > commits);
    server.app.hub.closeAll(1012, "service restart");
    await waitFor(() => seen.refusals.length === 1);
    assertEquals(seen.refusals, ["unconfirmed acknowledge valve 3"]);
    kv.release();
    // Recorded after all: the list says so once the client is back.
    await waitFor(() =>
      client.status === "online" && client.conditions[0]?.state === "active-acknowledged"
    );
    assertEquals(seen.refusals.length, 1);
  } finally {
    client.stop();
    await kv.idle();
  }
});

Deno.test("client: getToken may give the answer of POST /api/tokens; giving nothing usable is an error", async () => {
  const secret = "s".repeat(32);
  await using server = await startServer({
    config: { tokenSecrets: [secret], apiKey: "k".repeat(16) },
  });
  const mint = async () => {
    const res = await server.post("/api/tokens", { id: "c9" }, {
      authorization: `Bearer ${"k".repeat(16)}`,
    });
    return res.body as { token: string; expiresAt: string };
  };
  const client = new AlarmClient({ url: server.http, id: "c9", minDelayMs: 10, getToken: mint });
  client.start();
  try {
    await waitFor(() => client.status === "online");
  } finally {
    client.stop();
  }
  let asked = 0;
  const broken = new AlarmClient({
    url: server.http,
    id: "c9",
    minDelayMs: 10,
    // Neither a token nor an object holding one; then one no subprotocol can carry.
    getToken: () =>
      Promise.resolve(
        (asked++ % 2 ? "two words" : { expiresAt: "soon" }) as unknown as string,
      ),
  });
  const seen = watch(broken);
  broken.start();
  try {
    await waitFor(() => seen.errors.length >= 4); // it keeps trying, with backoff
    assertEquals(new Set(seen.errors), new Set(["token_unavailable"]));
    assert(broken.status !== "online");
  } finally {
    broken.stop();
  }
});

/** A client of `id` (over `transports`) that has received its alarms 1 to 3, and its resets. */
async function clientThatSawThree(server: TestServer, id: string, transports?: ["sse"]) {
  const client = new AlarmClient({
    url: server.http,
    id,
    since: 0,
    minDelayMs: 10,
    ...(transports ? { transports } : {}),
  });
  const seen = watch(client);
  const resets: unknown[] = [];
  client.addEventListener("reset", (e) => resets.push((e as CustomEvent).detail));
  client.start();
  await waitFor(() => client.status === "online");
  for (let n = 1; n <= 3; n++) await server.post(`/api/alarms/${id}`, { n });
  await waitFor(() => seen.alarms.length === 3);
  return { client, seen, resets };
}

/** Deletes every record of `id`, as restoring a store from before it was written would. */
async function forgetLog(kv: Deno.Kv, id: string): Promise<void> {
  for await (const { key } of kv.list({ prefix: [] })) {
    if (key.includes(id)) await kv.delete(key);
  }
}

Deno.test("client: an id whose log started again (store restored or replaced) delivers its new seqs", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startServer({ kv });
  const { client, seen, resets } = await clientThatSawThree(server, "rs");
  try {
    // The store loses the id's log (restored from an older backup, say), and the server restarts.
    await forgetLog(kv, "rs");
    server.app.hub.closeAll(1012, "service restart");
    await waitFor(() => resets.length === 1 && client.status === "online");
    assertEquals(resets, [{ seq: 0, lastSeq: 3 }]);
    await server.post("/api/alarms/rs", { n: 4 });
    await waitFor(() => seen.alarms.length === 4);
    assertEquals(seen.alarms.map((a) => [a.seq, a.n]), [[1, 1], [2, 2], [3, 3], [1, 4]]);
    assertEquals(client.lastSeq, 1);
  } finally {
    client.stop();
  }
});

for (const transports of [undefined, ["sse"] as ["sse"]]) {
  Deno.test(`client (${transports ?? "websocket"}): a log restored and written past what it saw is read again from the start`, async () => {
    using kv = await Deno.openKv(":memory:");
    await using server = await startServer({ kv });
    const { client, seen, resets } = await clientThatSawThree(server, "rb", transports);
    try {
      client.stop();
      // The store goes back to before these three, and five new alarms pass where it was.
      await forgetLog(kv, "rb");
      for (let n = 11; n <= 15; n++) await server.post("/api/alarms/rb", { n });
      client.start();
      await waitFor(() => seen.alarms.length === 8);
      assertEquals(resets, [{ seq: 5, lastSeq: 3 }]);
      assertEquals(seen.alarms.map((a) => [a.seq, a.n]).slice(3), [
        [1, 11],
        [2, 12],
        [3, 13],
        [4, 14],
        [5, 15],
      ]);
    } finally {
      client.stop();
    }
  });
}

for (const transports of [undefined, ["sse"] as ["sse"]]) {
  Deno.test(`client (${transports ?? "websocket"}): a log restored and written past a transition it saw is read again, also by a client given lastSeq and lastId`, async () => {
    using kv = await Deno.openKv(":memory:");
    await using server = await startServer({ kv });
    const { client, seen, resets } = await clientThatSawThree(server, "rt", transports);
    let later: AlarmClient | undefined;
    try {
      await server.post("/api/alarms/rt", { n: 4, key: "k" });
      assertEquals((await server.post("/api/conditions/rt/k/acknowledge", {})).status, 200);
      await waitFor(() => client.lastSeq === 5); // the acknowledgement: the last entry it saw
      const { lastSeq, lastId } = client;
      assert(typeof lastId === "string" && lastSeq !== undefined, "a transition's id");
      client.stop();
      await forgetLog(kv, "rt");
      for (let n = 11; n <= 16; n++) await server.post("/api/alarms/rt", { n });
      // A page reloaded with what the first one kept.
      later = new AlarmClient({
        url: server.http,
        id: "rt",
        since: lastSeq,
        sinceId: lastId,
        minDelayMs: 10,
        ...(transports ? { transports } : {}),
      });
      const again = watch(later);
      later.start();
      client.start();
      await waitFor(() => seen.alarms.length === 10 && again.alarms.length === 6);
      assertEquals(resets, [{ seq: 6, lastSeq: 5 }]);
      const fresh = [[1, 11], [2, 12], [3, 13], [4, 14], [5, 15], [6, 16]];
      assertEquals(seen.alarms.slice(4).map((a) => [a.seq, a.n]), fresh);
      assertEquals(again.alarms.map((a) => [a.seq, a.n]), fresh);
    } finally {
      client.stop();
      later?.stop();
    }
  });
}

Deno.test("client: acting on a whole list at once keeps to the pace the welcome gives, and stays online", async () => {
  // A burst of 2: a client sending its 20 actions at once would be closed with 1008.
  // The real clock: the server refills its bucket by it.
  await using server = await startServer({
    now: Date.now,
    config: { messageRate: 20, messageBurst: 2 },
  });
  for (let i = 0; i < 20; i++) await server.post("/api/alarms/many", { key: `k${i}` });
  const client = new AlarmClient({ url: server.http, id: "many", since: 0 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.conditions.length === 20);
    for (const c of client.conditions) assert(client.acknowledge(c.key));
    await waitFor(() => client.conditions.every((c) => c.state === "active-acknowledged"), 10_000);
    const listed = await server.get("/api/conditions/many?state=active-acknowledged");
    assertEquals(listed.body.conditions.length, 20);
    assertEquals([client.status, seen.errors, seen.codes], ["online", [], []]);
    assertEquals(server.app.metrics.errorCount("rate_limited"), 0);
  } finally {
    client.stop();
  }
});

Deno.test("client: an ack or a message still queued when the socket closes is reported unsent", async () => {
  // One frame now, then one every two seconds: the rest wait in the queue.
  await using server = await startServer({
    now: Date.now,
    config: { messageRate: 1, messageBurst: 2 },
  });
  await server.post("/api/alarms/q", { n: 1 });
  const client = new AlarmClient({ url: server.http, id: "q", since: 0, minDelayMs: 10 });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.status === "online" && seen.alarms.length === 1);
    assert(client.ack(1)); // sent at once
    assert(client.send("elsewhere", { text: "hi" }));
    assert(client.ack(1));
    server.app.hub.closeAll(1012, "service restart");
    const unsent = () => seen.refusals.filter((r) => r.startsWith("unsent"));
    await waitFor(() => unsent().length === 2);
    // The first ack went at once (answered, or else reported unconfirmed); the two queued
    // behind it are the ones never sent.
    assertEquals(unsent(), ["unsent send", "unsent ack"]);
    assert(
      seen.refusals.every((r) => ["unsent send", "unsent ack", "unconfirmed ack"].includes(r)),
    );
  } finally {
    client.stop();
  }
});

Deno.test("client: a sinceId kept as text matches a numeric alarm id: no reset", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/num", { id: 42, n: 1 });
  await server.post("/api/alarms/num", { n: 2 });
  // What a page gets back from localStorage or its URL for `"id": 42`.
  const client = new AlarmClient({ url: server.http, id: "num", since: 1, sinceId: "42" });
  const seen = watch(client);
  const resets: unknown[] = [];
  client.addEventListener("reset", (e) => resets.push((e as CustomEvent).detail));
  client.start();
  try {
    await waitFor(() => seen.alarms.length === 1);
    assertEquals([resets, seen.alarms.map((a) => a.n)], [[], [2]]);
  } finally {
    client.stop();
  }
});

Deno.test("client: a sinceId without since is ignored: no reset when it reconnects", async () => {
  await using server = await startServer();
  await server.post("/api/alarms/lone", { n: 1 });
  const client = new AlarmClient({ url: server.http, id: "lone", sinceId: "x", minDelayMs: 10 });
  const seen = watch(client);
  const resets: unknown[] = [];
  client.addEventListener("reset", (e) => resets.push((e as CustomEvent).detail));
  client.start();
  try {
    await waitFor(() => client.status === "online");
    server.app.hub.closeAll(1012, "service restart");
    await waitFor(() => seen.statuses.filter((s) => s === "online").length === 2);
    await server.post("/api/alarms/lone", { n: 2 });
    await waitFor(() => seen.alarms.length === 1);
    assertEquals([resets, seen.alarms.map((a) => a.n)], [[], [2]]);
  } finally {
    client.stop();
  }
});

Deno.test("client: an ack queued before the welcome never reaches a log that started again", async () => {
  using kv = await Deno.openKv(":memory:");
  await using server = await startServer({ kv });
  const { client: before } = await clientThatSawThree(server, "pw");
  const { lastSeq, lastId } = before;
  before.stop();
  await forgetLog(kv, "pw");
  for (let n = 11; n <= 15; n++) await server.post("/api/alarms/pw", { n });
  // The first socket's frames wait until the page has acted: its ack is queued before the welcome.
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  let sockets = 0;
  function HeldSocket(url: string, protocols?: string[]) {
    const socket = new WebSocket(url, protocols);
    if (sockets++ > 0) return socket;
    return new Proxy(socket, {
      set(target, prop, value) {
        if (prop !== "onmessage") return Reflect.set(target, prop, value);
        const pending: MessageEvent[] = [];
        let open = false;
        held.then(() => {
          open = true;
          for (const event of pending) value.call(target, event);
        });
        target.onmessage = (event) => open ? value.call(target, event) : void pending.push(event);
        return true;
      },
      get(target, prop) {
        const member = Reflect.get(target, prop);
        return typeof member === "function" ? member.bind(target) : member;
      },
    });
  }
  const client = new AlarmClient({
    url: server.http,
    id: "pw",
    since: lastSeq!,
    sinceId: lastId,
    minDelayMs: 10,
    WebSocket: HeldSocket as unknown as typeof WebSocket,
  });
  const seen = watch(client);
  client.start();
  try {
    await waitFor(() => client.ack(3)); // true once the socket is open: queued
    release();
    await waitFor(() => seen.alarms.length === 5);
    assertEquals(seen.refusals, ["unsent ack"]);
    // Nobody acknowledged the new log's alarms.
    assertEquals((await server.get("/api/sessions/pw")).body.acked, 0);
  } finally {
    client.stop();
  }
});
