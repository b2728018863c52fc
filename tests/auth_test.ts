import { assert, assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { TokenKeys } from "../lib/core/mod.ts";
import { createLogger } from "../lib/observe/mod.ts";
import { TestClient } from "./support/client.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { ServerProcess } from "./support/process.ts";
import { RawSocket } from "./support/raw_ws.ts";
import { startServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const SECRET = "s".repeat(32);
const PREVIOUS = "p".repeat(32);
const KEY = "k".repeat(24);
const keys = new TokenKeys([SECRET]);

function secured(config = {}) {
  return startServer({ config: { tokenSecrets: [SECRET, PREVIOUS], apiKey: KEY, ...config } });
}

function mint(server: TestServer, sub: string, ttlMs = 60_000, send: string[] = [], signer = keys) {
  return signer.sign(sub, server.clock.time + ttlMs, send);
}

async function status(server: TestServer, path: string, headers: Record<string, string> = {}) {
  const raw = await RawSocket.connect(server.port, path, headers);
  raw.close();
  return { status: raw.status, head: raw.head };
}

Deno.test("tokens: missing, forged, expired or wrong-id tokens get 401/403 before any upgrade", async () => {
  await using server = await secured();
  const forged = await mint(server, "plant-3", 60_000, [], new TokenKeys(["f".repeat(32)]));
  const expired = await mint(server, "plant-3", -1000);
  const other = await mint(server, "plant-4");
  const cases: [string, number][] = [
    ["/websocket/plant-3", 401],
    [`/websocket/plant-3?token=${forged}`, 401],
    [`/websocket/plant-3?token=${expired}`, 401],
    [`/websocket/plant-3?token=garbage`, 401],
    [`/websocket/plant-3?token=${other}`, 403],
  ];
  for (const [path, expected] of cases) {
    assertEquals((await status(server, path)).status, expected, path);
  }
  const codes = ["token_required", "invalid_token", "token_expired", "forbidden"];
  for (const code of codes) assert(server.app.metrics.errorCount(code) >= 1, code);
  assertEquals(server.app.metrics.sessionsOpened, 0);
});

Deno.test("tokens: ?token= for legacy pages, token.<t> next to alarms.v1 (never echoed)", async () => {
  await using server = await secured();
  await using page = new LegacyPage(
    server.ws,
    [`plant-3?token=${await mint(server, "plant-3")}`],
    1000,
  );
  await page.opened();
  const token = await mint(server, "plant-*");
  const raw = await RawSocket.connect(server.port, "/websocket/plant-9", {
    "sec-websocket-protocol": `alarms.v1, token.${token}`,
  });
  assertEquals(raw.status, 101);
  assertMatch(raw.head, /^sec-websocket-protocol: alarms\.v1\r?$/im);
  assertNotMatch(raw.head, /token\./);
  raw.close();
  await using v1 = await TestClient.open(`${server.ws}/websocket/plant-7`, [
    "alarms.v1",
    `token.${token}`,
  ]);
  assertEquals(v1.socket.protocol, "alarms.v1");
  assertEquals((await v1.nextJson()).type, "welcome");
  const res = await server.post("/api/alarms/plant-3", { msg: "ok" }, {
    authorization: `Bearer ${KEY}`,
  });
  assertEquals(res.status, 202);
  await page.until(() => page.list.length === 1);
  // A token subprotocol alone can't be answered (we never echo it): 400 with the way out.
  const alone = await RawSocket.connect(server.port, "/websocket/plant-3", {
    "sec-websocket-protocol": `token.${token}`,
  });
  assertEquals(alone.status, 400);
  alone.close();
  // A token signed with the previous secret still works during rotation.
  const old = await mint(server, "plant-3", 60_000, [], new TokenKeys([PREVIOUS]));
  assertEquals((await status(server, `/websocket/plant-3?token=${old}`)).status, 101);
});

Deno.test("tokens: a token offered twice is refused with 401 two_tokens, whichever is good", async () => {
  await using server = await secured();
  const good = await mint(server, "plant-3");
  const bad = "garbage";
  // Two places on an upgrade: the query and the subprotocol, or the query twice.
  const upgrades: [string, Record<string, string>][] = [
    [`/websocket/plant-3?token=${good}`, { "sec-websocket-protocol": `alarms.v1, token.${bad}` }],
    [`/websocket/plant-3?token=${bad}`, { "sec-websocket-protocol": `alarms.v1, token.${good}` }],
    [`/websocket/plant-3?token=${good}&token=${bad}`, {}],
    [`/websocket/plant-3`, { "sec-websocket-protocol": `alarms.v1, token.${good}, token.${bad}` }],
    [`/events/plant-3?token=${bad}&token=${good}`, { accept: "text/event-stream" }],
  ];
  for (const [path, headers] of upgrades) {
    assertEquals((await status(server, path, headers)).status, 401, path);
  }
  assertEquals(server.app.metrics.errorCount("two_tokens"), upgrades.length);
  const stream = await fetch(`${server.http}/events/plant-3?token=${good}&token=${good}`);
  assertEquals(stream.status, 401);
  assertEquals((await stream.json()).error, {
    code: "two_tokens",
    message: 'Send the connection token once: "?token=" came twice',
  });
  // An HTTP action: the query and the header.
  const actions = ["/api/acks/plant-3", "/api/conditions/plant-3/k/acknowledge"];
  for (const path of actions) {
    const res = await server.post(`${path}?token=${good}`, {}, { authorization: `Bearer ${bad}` });
    assertEquals([res.status, res.body?.error?.code], [401, "two_tokens"], path);
    assertMatch(res.body.error.message, /^Send the connection token once: in "\?token=" or in/);
    // Two Authorization headers (they arrive joined by a comma), or one in another form.
    const two = await server.post(path, {}, { authorization: `Bearer ${good}, Bearer ${good}` });
    assertEquals([two.status, two.body.error.code], [401, "two_tokens"], path);
    const odd = await server.post(`${path}?token=${good}`, {}, {
      authorization: `Bearer ${good} extra`,
    });
    assertEquals([odd.status, odd.body.error.code], [401, "invalid_token"], path);
  }
  // Another scheme (a proxy's Basic login) is not ours: the query's token is read.
  const basic = await server.post(`/api/acks/plant-3?token=${good}`, {}, {
    authorization: "Basic dXNlcjpwYXNz",
  });
  assertEquals(basic.body.error.code, "invalid_field"); // past the token: the body's turn
  // An empty `token.` offers nothing either.
  const emptyProtocol = await status(server, `/websocket/plant-3?token=${good}`, {
    "sec-websocket-protocol": "alarms.v1, token.",
  });
  assertEquals(emptyProtocol.status, 101);
  // An empty `?token=` offers nothing; a stream reads no subprotocol (only a socket has one).
  const empty = await server.post(`/api/acks/plant-3?token=`, {}, {
    authorization: `Bearer ${good}`,
  });
  assertEquals(empty.body.error.code, "invalid_field"); // past the token: the body's turn
  const onStream = await fetch(`${server.http}/events/plant-3`, {
    headers: { "sec-websocket-protocol": `token.${good}` },
  });
  assertEquals([onStream.status, (await onStream.json()).error.code], [401, "token_required"]);
  // Nor the Authorization header, on a stream or a socket: a client that sends its token there is
  // told where it goes, not only that one is missing; with the token in the query it is ignored.
  const bearer = await fetch(`${server.http}/events/plant-3`, {
    headers: { authorization: `Bearer ${good}` },
  });
  const { error } = await bearer.json();
  assertEquals([bearer.status, error.code], [401, "token_required"]);
  assertEquals(
    error.message,
    'A connection token is required, in "?token=": the "Authorization" header is not read here',
  );
  const socket = await status(server, "/websocket/plant-3", { authorization: `Bearer ${good}` });
  assertEquals(socket.status, 401);
  const both = await fetch(`${server.http}/events/plant-3?token=${good}`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  await both.body?.cancel();
  assertEquals(both.status, 200);
  // Clearing with the key and a token: the two tokens are what is wrong, not a missing key.
  const clear = await server.post("/api/conditions/plant-3/k/clear", {}, {
    authorization: `Bearer ${KEY}, Bearer ${good}`,
  });
  assertEquals([clear.status, clear.body.error.code], [401, "two_tokens"]);
  // The API key in the header is no second token: the key holder acts.
  const published = await server.post("/api/alarms/plant-3", { msg: "one" }, {
    authorization: `Bearer ${KEY}`,
  });
  assertEquals(published.status, 202);
  const acked = await server.post(`/api/acks/plant-3?token=${bad}`, { seq: 1 }, {
    authorization: `Bearer ${KEY}`,
  });
  assertEquals(acked.status, 200);
  // The sessions opened: the socket with an empty `token.` beside its `?token=`, and the stream
  // with its token in the query and the API key in a header it doesn't read.
  assertEquals(server.app.metrics.sessionsOpened, 2);
});

Deno.test("tokens: a session is closed with 4001 when its token expires", async () => {
  await using server = await secured();
  await using client = await TestClient.open(
    `${server.ws}/websocket/a?token=${await mint(server, "a", 30_000)}`,
  );
  await using lasting = await TestClient.open(
    `${server.ws}/websocket/a?token=${await mint(server, "a", 120_000)}`,
  );
  await waitFor(() => server.app.hub.size === 2);
  server.clock.advance(29_000);
  assertEquals(server.app.sweep(), 0);
  server.clock.advance(1_000);
  assertEquals(server.app.sweep(), 1);
  assertEquals(await client.waitClosed(), { code: 4001, reason: "token expired" });
  assertEquals(server.app.hub.size, 1);
  assertEquals(lasting.socket.readyState, WebSocket.OPEN);
});

Deno.test("tokens: send is allowed only to ids the token grants", async () => {
  await using server = await secured();
  await using ops = await TestClient.open(
    `${server.ws}/websocket/ops?token=${await mint(server, "ops")}`,
    "alarms.v1",
  );
  await ops.next();
  const sender = await mint(server, "panel-1", 60_000, ["ops"]);
  await using panel = await TestClient.open(
    `${server.ws}/websocket/panel-1?token=${sender}`,
    "alarms.v1",
  );
  await panel.next();
  panel.send(JSON.stringify({ type: "send", to: "ops", data: "hi" }));
  assertEquals(await ops.nextJson(), { type: "message", from: "panel-1", data: "hi" });
  panel.send(JSON.stringify({ type: "send", to: "other", data: "hi", ref: 3 }));
  const reply = await panel.nextJson();
  assertEquals([reply.type, reply.code, reply.ref], ["error", "forbidden", 3]);
  // ops has no send grant at all.
  ops.send(JSON.stringify({ type: "send", to: "panel-1", data: "back" }));
  assertEquals((await ops.nextJson()).code, "forbidden");
});

Deno.test("POST /api/tokens mints tokens that open sockets; it needs the API key", async () => {
  await using server = await secured();
  const auth = { authorization: `Bearer ${KEY}` };
  assertEquals((await server.post("/api/tokens", { id: "plant-3" })).status, 401);
  const issued = await server.post("/api/tokens", { id: "plant-*", ttl: 600, send: ["ops"] }, auth);
  assertEquals(issued.status, 201);
  assertEquals(issued.body.expiresAt, "2026-01-01T00:10:00.000Z");
  assertEquals(
    (await status(server, `/websocket/plant-42?token=${issued.body.token}`)).status,
    101,
  );
  for (
    const bad of [
      { id: "a b" },
      { id: "x", ttl: 0 },
      { id: "x", ttl: 86_401 },
      { id: "x", ttl: 1.5 },
      { id: "x", send: "ops" },
      {},
    ]
  ) {
    const res = await server.post("/api/tokens", bad, auth);
    assertEquals([res.status, res.body.error.code], [400, "invalid_field"], JSON.stringify(bad));
  }
  // A misspelt field fails rather than leaving its default (an hour, not the minute asked).
  const misspelt = await server.post("/api/tokens", { id: "x", ttlSeconds: 60 }, auth);
  assertEquals(
    [misspelt.status, misspelt.body.error.code, misspelt.body.error.message],
    [400, "unknown_field", 'Field "ttlSeconds" is not allowed'],
  );
  await using open = await startServer();
  const disabled = await open.post("/api/tokens", { id: "x" });
  assertEquals([disabled.status, disabled.body.error.code], [501, "tokens_disabled"]);
});

Deno.test("origin allowlist: other origins get 403 before the upgrade; no Origin is judged by token", async () => {
  const lines: string[] = [];
  await using server = await startServer({
    config: { allowedOrigins: ["https://ops.example.com"] },
    logger: createLogger({ write: (line) => lines.push(line) }),
  });
  assertEquals(
    (await status(server, "/websocket/a", { origin: "https://evil.example" })).status,
    403,
  );
  assertEquals(
    (await status(server, "/websocket/a", { origin: "https://ops.example.com.evil" })).status,
    403,
  );
  assertEquals((await status(server, "/websocket/a", { origin: "null" })).status, 403);
  assertEquals(
    (await status(server, "/websocket/a", { origin: "https://ops.example.com" })).status,
    101,
  );
  assertEquals((await status(server, "/websocket/a")).status, 101);
  // The server's own console reached by address: its origin is the host the request was sent to.
  const own = `http://127.0.0.1:${server.port}`;
  assertEquals((await status(server, "/websocket/a", { origin: own })).status, 101);
  const local = `localhost:${server.port}`;
  assertEquals(
    (await status(server, "/websocket/a", { origin: `http://${local}`, host: local })).status,
    101,
  );
  // Only as browsers write an origin: no other scheme, case or port spelling.
  for (
    const odd of [
      `HTTP://127.0.0.1:${server.port}`,
      `ws://127.0.0.1:${server.port}`,
      `http://127.0.0.1:0${server.port}`,
    ]
  ) {
    assertEquals((await status(server, "/websocket/a", { origin: odd })).status, 403, odd);
  }
  const otherPort = `http://127.0.0.1:${server.port + 1}`;
  assertEquals((await status(server, "/websocket/a", { origin: otherPort })).status, 403);
  // By a name, only if listed: a page from any name pointed at this server (DNS rebinding)
  // sends that name as its host.
  const rebound = `evil.example:${server.port}`;
  for (const path of ["/websocket/a", "/events/a"]) {
    const answer = await status(server, path, { origin: `http://${rebound}`, host: rebound });
    assertEquals(answer.status, 403, path);
  }
  assertEquals(server.app.metrics.errorCount("origin_not_allowed"), 9);
  // Logged too, once per reason however many come in a burst.
  const refusals = lines.filter((line) => line.includes('"msg":"upgrade refused"'));
  assertEquals(refusals.length, 1);
  assertMatch(refusals[0]!, /"code":"origin_not_allowed"/);
});

Deno.test("the client library loads from any origin, at /client.js and the stable /v1/client.js", async () => {
  await using server = await startServer();
  for (const path of ["/client.js", "/v1/client.js"]) {
    const res = await fetch(`${server.http}${path}`, {
      headers: { origin: "https://app.example" },
    });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("access-control-allow-origin"), "*");
    assertMatch(await res.text(), /export class AlarmClient/);
  }
  const page = await fetch(`${server.http}/`);
  assertEquals(page.headers.get("access-control-allow-origin"), null); // only the library
  await page.body?.cancel();
});

Deno.test("fail closed: REQUIRE_AUTH=1 or Deno Deploy without secrets stops at start", async () => {
  for (const env of [{ REQUIRE_AUTH: "1" }, { DENO_DEPLOY: "1" }]) {
    await using proc = new ServerProcess(env);
    assertEquals((await proc.status).code, 78);
    const [record] = proc.records();
    assertMatch(record.msg, /ALARM_API_KEY is required.*WS_TOKEN_SECRET is required/);
  }
});

Deno.test("tokens in URLs never reach the logs", async () => {
  await using proc = new ServerProcess({ WS_TOKEN_SECRET: SECRET, LOG_LEVEL: "debug" });
  const port = await proc.port();
  const token = await keys.sign("x", Date.now() + 60_000);
  const client = await TestClient.open(`ws://127.0.0.1:${port}/websocket/x?since=0&token=${token}`);
  client.socket.close();
  await client.closed;
  await proc.waitFor("session closed");
  const bad = await RawSocket.connect(port, `/websocket/x?token=${token}x`);
  assertEquals(bad.status, 401);
  bad.close();
  proc.child.kill("SIGTERM");
  await proc.status;
  const all = proc.lines.join("\n");
  assert(!all.includes(token.split(".")[2]!), "the token's signature appears in the logs");
  const warnings = proc.records().filter((r) => r.level === "warn").map((r) => r.msg);
  assertEquals(warnings.length, 2);
  assertMatch(warnings[0], /^ALARM_API_KEY is not set/); // the sockets are not open
  assertEquals(warnings[1], "upgrade refused"); // with its code, never the token
  assertEquals(proc.records().find((r) => r.msg === "upgrade refused").code, "invalid_token");
});

Deno.test("deno task token mints the same tokens from a shell, and explains misuse", async () => {
  const cli = new URL("../bin/token.ts", import.meta.url).pathname;
  const run = (args: string[], env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env=WS_TOKEN_SECRET", cli, ...args],
      env: { NO_COLOR: "1", ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run(
    ["--id", "plant-*", "--ttl", "600", "--send", "ops, panel-1", "--name", "li.wei"],
    { WS_TOKEN_SECRET: SECRET },
  );
  assertEquals(ok.code, 0);
  const { token, expiresAt } = JSON.parse(new TextDecoder().decode(ok.stdout));
  const verified = await keys.verify(token, Date.now());
  assert(verified.ok);
  assertEquals(
    [verified.grant.sub, verified.grant.send, verified.grant.name],
    ["plant-*", ["ops", "panel-1"], "li.wei"],
  );
  assertEquals(Date.parse(expiresAt), verified.grant.expiresAt);
  for (
    const [args, env, code] of [
      [["--id", "x"], {}, "tokens_disabled"],
      [["--id", "a b"], { WS_TOKEN_SECRET: SECRET }, "invalid_field"],
      [["--id", "x", "--name", "system"], { WS_TOKEN_SECRET: SECRET }, "invalid_field"],
      [["--id"], { WS_TOKEN_SECRET: SECRET }, "usage"],
      [["--id", "x"], { WS_TOKEN_SECRET: "short" }, "invalid_secret"],
    ] as const
  ) {
    const out = await run([...args], env);
    assertEquals(out.code, 2);
    assertEquals(JSON.parse(new TextDecoder().decode(out.stderr)).error.code, code);
  }
  const help = await run(["--help"], {});
  assertEquals(help.code, 0);
  assertMatch(new TextDecoder().decode(help.stdout), /^Usage: .*deno task token --id/);
});

Deno.test("a wrong API key is answered 401 after the body the client is still sending, not a broken pipe", async () => {
  await using server = await startServer({ config: { apiKey: "k".repeat(32) } });
  const body = JSON.stringify({ message: "x".repeat(20_000) });
  await using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const encoder = new TextEncoder();
  // The head first and the body after it, as the JDK's HttpClient sends a POST.
  await conn.write(encoder.encode(
    "POST /api/alarms/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n" +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  ));
  let answer = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of conn.readable) answer += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  // Time for a server that answers before the body to do so (and close): then the body's
  // writes fail with "Broken pipe", which is what the JDK client reported instead of the 401.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await conn.write(encoder.encode(body.slice(0, 10_000)));
  await conn.write(encoder.encode(body.slice(10_000)));
  await waitFor(() => answer.includes('"unauthorized"'));
  assertMatch(answer, /^HTTP\/1\.1 401 /);
  conn.close();
  await reading;
});

Deno.test("conditions: a token's name is who acts; without a token no socket acts while the API key is set", async () => {
  await using server = await secured();
  const auth = { authorization: `Bearer ${KEY}` };
  for (const key of ["a", "b", "c"]) {
    assertEquals((await server.post("/api/alarms/plant-3", { key }, auth)).status, 202);
  }
  const issued = await server.post("/api/tokens", { id: "plant-*", name: "李伟" }, auth);
  assertEquals(issued.status, 201);
  const token = issued.body.token;
  // Over HTTP with the token: the audit trail names the operator, not the id pattern.
  const acked = await server.post(`/api/conditions/plant-3/a/acknowledge?token=${token}`, {});
  assertEquals([acked.status, acked.body.condition.acknowledged.by], [200, "李伟"]);
  const client = await TestClient.open(
    `${server.ws}/websocket/plant-3?token=${token}`,
    "alarms.v1",
  );
  assertEquals((await client.nextJson()).type, "welcome");
  assertEquals((await client.nextJson()).type, "conditions");
  client.send(JSON.stringify({ type: "acknowledge", key: "b" }));
  assertEquals((await client.nextJson()).condition.acknowledged.by, "李伟");
  // A token without a name acts as its id pattern.
  const plain = await mint(server, "plant-3");
  const byPattern = await server.post(`/api/conditions/plant-3/c/acknowledge?token=${plain}`, {});
  assertEquals(byPattern.body.condition.acknowledged.by, "plant-3");
  // Not even a token for the id "system" acts as the server.
  assertEquals((await server.post("/api/alarms/system", { key: "k" }, auth)).status, 202);
  const system = await mint(server, "system");
  const bySystem = await server.post(`/api/conditions/system/k/acknowledge?token=${system}`, {});
  assertEquals(bySystem.body.condition.acknowledged.by, "token:system");
  await client.nextJson(); // that transition
  // Nor does one for the id "api" pass for the API key holder in the audit trail.
  assertEquals((await server.post("/api/alarms/api", { key: "k" }, auth)).status, 202);
  const api = await mint(server, "api");
  const byApi = await server.post(`/api/conditions/api/k/acknowledge?token=${api}`, {});
  assertEquals(byApi.body.condition.acknowledged.by, "token:api");
  // Clearing is the publisher's: no token does, and without the key the answer asks for it.
  const clear = `/api/conditions/plant-3/a/clear`;
  const tokenClear = await server.post(`${clear}?token=${token}`, {});
  assertEquals([tokenClear.status, tokenClear.body.error.code], [403, "forbidden"]);
  for (const headers of [{}, { authorization: "Bearer wrong" }]) {
    const res = await server.post(clear, {}, headers);
    assertEquals(
      [res.status, res.body.error.code, res.body.error.message],
      [401, "unauthorized", "Clearing a condition takes the API key"],
    );
  }
  for (
    const bad of [
      "system",
      "SYSTEM",
      "api",
      "API",
      "anonymous",
      "ａｎｏｎｙｍｏｕｓ",
      " ",
      "",
      "a\nb",
      " system",
      "system\u200b",
      "\u202eop3",
    ].map((name) => ({ id: "x", name }))
  ) {
    const res = await server.post("/api/tokens", bad, auth);
    assertEquals([res.status, res.body.error.code], [400, "invalid_field"], JSON.stringify(bad));
  }

  // Sockets open to anyone (no token secret) but the API key set: reading, yes; acting, no.
  await using keyed = await startServer({ config: { apiKey: KEY } });
  assertEquals((await keyed.post("/api/alarms/plant-3", { key: "a" }, auth)).status, 202);
  await using anonymous = await TestClient.open(`${keyed.ws}/websocket/plant-3`, "alarms.v1");
  assertEquals((await anonymous.nextJson()).type, "welcome");
  assertEquals((await anonymous.nextJson()).type, "conditions");
  anonymous.send(
    JSON.stringify({ type: "shelve", key: "a", reason: "r", durationSeconds: 60, ref: "s" }),
  );
  const refused = await anonymous.nextJson();
  assertEquals([refused.type, refused.code, refused.ref], ["error", "forbidden", "s"]);
  const [condition] = (await keyed.get("/api/conditions/plant-3", auth)).body.conditions;
  assertEquals([condition.state, "shelved" in condition], ["active-unacknowledged", false]);
  // Nor acknowledging alarms up to a seq (it would stop their escalation too).
  anonymous.send(JSON.stringify({ type: "ack", seq: 1 }));
  const noAck = await anonymous.nextJson();
  assertEquals([noAck.type, noAck.code, noAck.message], [
    "error",
    "forbidden",
    "Acknowledging takes a connection token while the API key is set (tokens need WS_TOKEN_SECRET)",
  ]);
  // Nor messages into other ids' consoles: the operator's console gets the next alarm, no message.
  await using operator = await TestClient.open(`${keyed.ws}/websocket/control-room`, "alarms.v1");
  assertEquals((await operator.nextJson()).type, "welcome");
  anonymous.send(
    JSON.stringify({ type: "send", to: "control-room", data: "Evacuate now", ref: "m" }),
  );
  const noSend = await anonymous.nextJson();
  assertEquals([noSend.type, noSend.code, noSend.ref], ["error", "forbidden", "m"]);
  assertEquals((await keyed.post("/api/alarms/control-room", { n: 1 }, auth)).status, 202);
  const next = await operator.nextJson();
  assertEquals([next.type, next.alarm?.n], ["alarm", 1]);
  const sessions = (await keyed.get("/api/sessions/plant-3", auth)).body;
  const viaHttp = await keyed.post("/api/acks/plant-3", { seq: 1 });
  assertEquals([viaHttp.status, viaHttp.body.error.message], [401, "A valid API key is required"]);
  assertEquals([sessions.acked, sessions.unacknowledged, sessions.sessions[0].ackedSeq], [
    0,
    null,
    0,
  ]);
});

Deno.test("ALLOWED_HOSTS: a request sent to a name not listed (DNS rebinding) is refused, whatever it asks", async () => {
  await using server = await startServer({ config: { allowedHosts: ["alarms.example.com"] } });
  assertEquals((await server.post("/api/alarms/plant-3", { msg: "secret" })).status, 202);
  // What a page's requests carry after a rebind: its own name, no Origin on same-origin reads.
  async function raw(method: string, path: string, host: string): Promise<string> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const body = method === "POST" ? '{"msg":"x"}' : "";
    const head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n` +
      (body ? `content-type: application/json\r\ncontent-length: ${body.length}\r\n` : "");
    await conn.write(new TextEncoder().encode(`${head}\r\n${body}`));
    const reader = conn.readable.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\r\n\r\n") || (text.startsWith("HTTP/1.1 4") && !text.includes("}"))) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    await reader.cancel();
    return text;
  }
  const rebound = `evil.example:${server.port}`;
  for (
    const [method, path] of [
      ["GET", "/events/plant-3"],
      ["GET", "/api/alarms/plant-3"],
      ["GET", "/api/sessions"],
      ["POST", "/api/alarms/plant-3"],
      ["GET", "/"],
    ]
  ) {
    const answer = await raw(method!, path!, rebound);
    assertMatch(answer, /^HTTP\/1\.1 403 /, `${method} ${path}`);
    assertMatch(answer, /"code":"host_not_allowed"/);
  }
  // The names it answers to: listed (any port, any case), an IP address, localhost.
  for (
    const host of [
      "alarms.example.com",
      `ALARMS.example.com:${server.port}`,
      `127.0.0.1:${server.port}`,
      `localhost:${server.port}`,
    ]
  ) {
    assertMatch(await raw("GET", "/api/alarms/plant-3", host), /^HTTP\/1\.1 200 /, host);
  }
  assertEquals(server.app.metrics.errorCount("host_not_allowed"), 5);
  // Over HTTP/2 the name comes as `:authority`, with no Host header: judged the same.
  const h2 = Deno.createHttpClient({ http1: false, http2: true });
  try {
    const direct = await fetch(`${server.http}/api/alarms/plant-3`, { client: h2 });
    await direct.body?.cancel();
    assertEquals(direct.status, 200);
  } finally {
    h2.close();
  }
  // Documented where every route's answers are.
  const doc = (await server.get("/openapi.json")).body;
  assertMatch(doc.info.description, /403 `host_not_allowed`.*`alarms\.example\.com`/);
});
