import { assert, assertEquals, assertLess, assertMatch, assertNotMatch } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { ServerProcess } from "./support/process.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { SseClient } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";
import { freePort } from "./support/ports.ts";
import { printedProduction, ROOT, runnableSettings } from "./support/production.ts";

const KEY = "s3cret-api-key-0123456789";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: every socket and event stream is closed with 1012 and the process exits within 5 s`, async () => {
    await using proc = new ServerProcess({});
    const port = await proc.port();
    await using legacy = await TestClient.open(`ws://127.0.0.1:${port}/websocket/a`);
    await using v1 = await TestClient.open(`ws://127.0.0.1:${port}/websocket/b`, "alarms.v1");
    await v1.next();
    // A peer that never reads must not hold up the exit.
    const stuck = await RawSocket.connect(port, "/websocket/c");
    assertEquals(stuck.status, 101);
    await using stream = await SseClient.open(`http://127.0.0.1:${port}/events/d`);
    await stream.next(); // retry advice
    assertEquals((await stream.next()).event, "welcome");
    const started = Date.now();
    proc.child.kill(signal);
    assertEquals(await legacy.waitClosed(), { code: 1012, reason: "service restart" });
    assertEquals(await v1.waitClosed(), { code: 1012, reason: "service restart" });
    const close = await stream.next();
    assertEquals([close.event, close.data], ["close", '{"code":1012,"reason":"service restart"}']);
    await stream.closed();
    const status = await proc.status;
    assertLess(Date.now() - started, 5000);
    assertEquals(status.code, 0);
    stuck.close();
    assertEquals((await proc.waitFor("shutting down")).signal, signal);
    // Each session's close is logged as the server sent it, not as the peer echoed it.
    const closes = proc.records().filter((r) => r.msg === "session closed");
    assert(closes.length >= 2, JSON.stringify(closes));
    for (const close of closes) {
      assertEquals([close.by, close.code, close.reason], ["server", 1012, "service restart"]);
    }
    // The last line says the process is done, and how long stopping took.
    const done = await proc.waitFor("stopped");
    assertEquals(typeof done.forced, "boolean");
    assertLess(done.ms, 5000);
  });
}

Deno.test("logs are one JSON object per line, escaped, with no credential or alarm body", async () => {
  await using proc = new ServerProcess({ ALARM_API_KEY: KEY, LOG_LEVEL: "debug" });
  const port = await proc.port();
  const client = await TestClient.open(`ws://127.0.0.1:${port}/websocket/x`);
  const res = await fetch(`http://127.0.0.1:${port}/api/alarms/x`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ msg: "BODY-SECRET-42" }),
  });
  assertEquals(res.status, 202);
  await res.body?.cancel();
  assertMatch(await client.next(), /BODY-SECRET-42/);
  client.socket.close(4321, "bye\u2028now\n\u001b[31mred");
  await client.closed;
  const closed = await proc.waitFor("session closed");
  assertEquals(closed.reason, "bye\u2028now\n\u001b[31mred");
  proc.child.kill("SIGTERM");
  await proc.status;
  const all = proc.lines.join("\n");
  assertNotMatch(all, /s3cret|BODY-SECRET/);
  assert(!all.includes("\u2028") && !all.includes("\u001b"), "raw separators or escapes in logs");
  for (const record of proc.records()) {
    assertEquals(typeof record.time, "string");
    assertEquals(typeof record.msg, "string");
  }
  // The API key is set; only the open sockets are announced.
  const warnings = proc.records().filter((r) => r.level === "warn").map((r) => r.msg);
  assertEquals(warnings.length, 1);
  assertMatch(warnings[0], /^WS_TOKEN_SECRET is not set/);
});

Deno.test("running open is announced once at start, one warning per missing secret", async () => {
  await using proc = new ServerProcess({});
  await proc.port();
  const warnings = proc.records().filter((r) => r.level === "warn").map((r) => r.msg);
  assertEquals(warnings.length, 2);
  assertMatch(warnings[0], /^ALARM_API_KEY is not set: anyone who can reach \/api\/ can publish$/);
  assertMatch(warnings[1], /^WS_TOKEN_SECRET is not set: anyone who knows an id can listen/);
});

Deno.test("invalid configuration stops the server at start with every problem listed", async () => {
  await using proc = new ServerProcess({
    PORT: "80000",
    MAX_BODY_BYTES: "lots",
    ALARM_API_KEY: "short",
    LOG_LEVEL: "loud",
  });
  const status = await proc.status;
  assertEquals(status.code, 78);
  const [record] = proc.records();
  assert(record);
  assertEquals(record.level, "error");
  assertMatch(record.msg, /PORT must be an integer from 0 to 65535, got "80000"/);
  assertMatch(record.msg, /MAX_BODY_BYTES must be an integer/);
  assertMatch(record.msg, /ALARM_API_KEY must be at least 16 characters/);
  assertMatch(record.msg, /LOG_LEVEL must be one of/);
  assertNotMatch(record.msg, /short/);
});

Deno.test("a HOST that is no address of this machine stops the start with 78 (a setting, not a fault)", async () => {
  for (const host of ["999.1.1.1", "10.200.200.200"]) {
    await using proc = new ServerProcess({ HOST: host, KV_PATH: ":memory:" });
    assertEquals((await proc.status).code, 78, host);
    const line = proc.records().find((r) => r.msg === "cannot listen");
    assertEquals(line?.host, host);
  }
});

Deno.test("a start that can't listen leaves no presence behind for the others to count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/kv.sqlite3`;
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    for (let i = 0; i < 2; i++) {
      await using failed = new ServerProcess({ PORT: String(taken.addr.port), KV_PATH: kvPath });
      assertEquals((await failed.status).code, 1);
    }
    await using good = new ServerProcess({ KV_PATH: kvPath });
    const port = await good.port();
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    assertEquals([health.instances, health.delivery], [1, "local"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store that can't be what KV_PATH says stops the start: a folder with 78, an unreachable URL without its credentials in the log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using proc = new ServerProcess({ KV_PATH: `${dir}/` });
      assertEquals((await proc.status).code, 78);
      const error = proc.records().find((r) => r.level === "error");
      assertMatch(error?.msg ?? "", /is a folder: name the store's file in it/);
    }
    // Deno before 2.9 opens a KV Connect database without asking it anything: the refusal
    // comes with the first call, not at start.
    const [major, minor] = Deno.version.deno.split(".").map(Number);
    if (major! < 2 || (major === 2 && minor! < 9)) return;
    // Something that answers, but no KV Connect server (nothing at all would be retried).
    await using other = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("no KV here", { status: 401 }),
    );
    const url = `http://li:hunter2@127.0.0.1:${other.addr.port}/db?secret=1`;
    await using proc = new ServerProcess({ KV_PATH: url, DENO_KV_ACCESS_TOKEN: "t".repeat(32) });
    // Its credentials refused (401): a setting to fix, which systemd does not restart.
    assertEquals((await proc.status).code, 78);
    // Nothing there yet (a URL that merely says 403): worth a restart.
    await using none = new ServerProcess({
      KV_PATH: `http://127.0.0.1:${freePort()}/403`,
      DENO_KV_ACCESS_TOKEN: "t".repeat(32),
    });
    assertEquals((await none.status).code, 1);
    const line = proc.lines.find((l) => l.includes("cannot open the store"));
    assert(line, proc.lines.join("\n"));
    assertNotMatch(proc.lines.join("\n"), /hunter2|secret=1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a misspelt setting is named in a warning at start, with the setting it looks like", async () => {
  await using proc = new ServerProcess({ KV_PATH: ":memory:", TRUSTED_PROXY: "127.0.0.1" });
  await proc.port();
  const warnings = proc.records().filter((r) => r.level === "warn").map((r) => r.msg);
  assert(
    warnings.includes("TRUSTED_PROXY is not a setting (ignored): did you mean TRUSTED_PROXIES?"),
    warnings.join("\n"),
  );
});

Deno.test("an accepted alarm survives SIGKILL: after a restart a client with since receives it", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: `${dir}/data/kv.sqlite3` };
  try {
    let accepted;
    {
      await using first = new ServerProcess(env);
      const port = await first.port();
      const res = await fetch(`http://127.0.0.1:${port}/api/alarms/plant`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ level: "critical" }),
      });
      assertEquals(res.status, 202);
      accepted = await res.json();
      first.child.kill("SIGKILL");
      assertEquals((await first.status).signal, "SIGKILL");
    }
    await using second = new ServerProcess(env);
    const port = await second.port();
    await using client = await TestClient.open(`ws://127.0.0.1:${port}/websocket/plant?since=0`);
    const alarm = JSON.parse(await client.next());
    assertEquals([alarm.id, alarm.seq, alarm.level], [accepted.id, 1, "critical"]);
    // The sequence continues where it was.
    const next = await fetch(`http://127.0.0.1:${port}/api/alarms/plant`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals((await next.json()).seq, 2);
    assertEquals((await second.waitFor("store opened")).kind, "sqlite");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a port already taken: one log line and exit 1, no stack trace", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using proc = new ServerProcess({ PORT: String(taken.addr.port) });
  const status = await proc.status;
  assertEquals(status.code, 1);
  const errors = proc.records().filter((r) => r.level === "error");
  assertEquals(errors.map((r) => r.msg), ["cannot listen"]);
  assertMatch(errors[0].error, /AddrInUse|in use/i);
});

Deno.test("deno task start fetches nothing: a fresh Deno cache starts the server as is", async () => {
  const cache = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "start"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { DENO_DIR: cache, HOST: "127.0.0.1", PORT: "0", KV_PATH: ":memory:", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) lines.push(chunk);
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  try {
    await waitFor(() => lines.join("").includes('"msg":"listening"'), 15_000);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reading;
    await Deno.remove(cache, { recursive: true });
  }
  assertNotMatch(lines.join(""), /Download/);
});

Deno.test("the production command in docs/security.md runs as printed, with the store anywhere", async () => {
  const { settings, command } = await printedProduction();
  const dir = await Deno.makeTempDir();
  const port = freePort();
  await Deno.writeTextFile(`${dir}/alarmcast.env`, runnableSettings(settings, dir, port));
  const args = command.split(/\s+/).slice(1).map((arg) =>
    arg.replace("/etc/alarmcast.env", `${dir}/alarmcast.env`).replaceAll("/var/lib/alarmcast", dir)
  );
  // A fresh Deno cache: anything the start needed would be downloaded, and show.
  const cache = await Deno.makeTempDir();
  await using proc = new ServerProcess({ DENO_DIR: cache }, args, { cwd: ROOT, raw: true });
  await proc.waitFor("listening", 15_000);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assertEquals(health.status, 200);
  await health.body?.cancel();
  assert((await Deno.stat(`${dir}/kv.sqlite3`)).isFile);
  assertNotMatch(proc.lines.join("\n"), /Download/);
});

Deno.test("a lone server restarted on its SQLite file is alone again: its own old arrival is no newcomer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const run of ["first", "restarted"]) {
      await using proc = new ServerProcess({ KV_PATH: `${dir}/kv.sqlite3` });
      const port = await proc.port();
      const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      assertEquals([health.instances, health.delivery], [1, "local"], run);
      proc.child.kill("SIGTERM"); // systemctl restart
      assertEquals((await proc.status).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a SQLite file another process holds locked at start is waited for, not given up on", async () => {
  const { DatabaseSync } = await import("node:sqlite");
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/kv.sqlite3`);
  try {
    db.exec("BEGIN EXCLUSIVE"); // what a second process setting up the same new file does
    await using proc = new ServerProcess({ KV_PATH: `${dir}/kv.sqlite3` });
    // SQLite's own wait (5 s) runs out, and the server says it waits on.
    const waiting = await proc.waitFor("the store is locked by another process: waiting", 15_000);
    assertEquals(waiting.level, "warn");
    db.exec("COMMIT");
    const port = await proc.port();
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    await health.body?.cancel();
    assertEquals(health.status, 200);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `deno task <task>` in the checkout with `env`; its exit code and output. */
async function task(name: string, env: Record<string, string>): Promise<[number, string]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", name],
    cwd: ROOT,
    env: { NO_COLOR: "1", HOST: "127.0.0.1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return [out.code, decoder.decode(out.stdout) + decoder.decode(out.stderr)];
}

Deno.test("deno task start with KV_PATH outside data/ names KV_PATH and the production command", async () => {
  const [code, output] = await task("start", { KV_PATH: "/srv/elsewhere/kv.sqlite3", PORT: "0" });
  assertEquals(code, 78);
  assertMatch(output, /KV_PATH \\"\/srv\/elsewhere\/kv\.sqlite3\\" is outside the folders/);
  // Both flags it needs, in one message.
  assertMatch(output, /--allow-read=\/srv\/elsewhere\/ --allow-write=\/srv\/elsewhere\//);
  assertNotMatch(output, /run again with/i);
});

Deno.test("deno task start:parallel with a bad PORT gives the configuration message and 78", async () => {
  const [code, output] = await task("start:parallel", { PORT: "80000" });
  assertEquals(code, 78);
  assertMatch(output, /PORT must be an integer from 0 to 65535, got \\"80000\\"/);
});

Deno.test("REUSE_PORT=1: two processes share one port, both take connections, and an alarm reaches the sockets of both", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const port = freePort();
    const env = { PORT: String(port), REUSE_PORT: "1", KV_PATH: `${dir}/kv.sqlite3` };
    await using a = new ServerProcess(env);
    await a.port();
    await using b = new ServerProcess(env);
    assertEquals(await b.port(), port);
    // Each request on a connection of its own: the kernel spreads them over both processes.
    const instances = new Set<string>();
    for (let i = 0; i < 40 && instances.size < 2; i++) {
      using client = Deno.createHttpClient({});
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { client });
      instances.add((await res.json()).instance);
    }
    assertEquals(instances.size, 2);
    const sockets = await Promise.all(
      Array.from({ length: 12 }, () => TestClient.open(`ws://127.0.0.1:${port}/websocket/plant`)),
    );
    try {
      await waitFor(async () => {
        using client = Deno.createHttpClient({});
        const res = await fetch(`http://127.0.0.1:${port}/api/sessions/plant`, { client });
        return (await res.json()).count === 12;
      });
      const res = await fetch(`http://127.0.0.1:${port}/api/alarms/plant`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"level":"critical"}',
      });
      assertEquals(res.status, 202);
      await res.body?.cancel();
      for (const socket of sockets) assertEquals(JSON.parse(await socket.next()).level, "critical");
    } finally {
      for (const socket of sockets) await socket[Symbol.asyncDispose]();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a createTime without an offset counts for floods in the server's time zone (TZ)", async () => {
  // What a publisher on Beijing time sends from a Java LocalDateTime: its local time, no zone.
  const beijing = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
  const alarms = new Map<string, unknown>();
  for (const tz of ["Asia/Shanghai", "UTC"]) {
    await using proc = new ServerProcess({ TZ: tz });
    const base = `http://127.0.0.1:${await proc.port()}`;
    for (let i = 0; i < 11; i++) {
      const res = await fetch(`${base}/api/alarms/tz`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ msg: `${i}`, createTime: beijing }),
      });
      assertEquals(res.status, 202);
      await res.body?.cancel();
    }
    const { alarms: count, flood } = await (await fetch(`${base}/api/performance/tz`)).json();
    alarms.set(tz, [count, flood]);
  }
  // On UTC the same text is eight hours ahead: not within the last 10 minutes.
  assertEquals(Object.fromEntries(alarms), { "Asia/Shanghai": [11, true], UTC: [0, false] });
});
