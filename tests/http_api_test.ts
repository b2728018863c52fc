import { assert, assertEquals, assertMatch } from "@std/assert";
import type { App } from "../lib/app.ts";
import type { Config } from "../lib/config.ts";
import { VERSION } from "../lib/core/mod.ts";
import { testApp } from "./support/server.ts";

const BASE = "http://alarmcast.test";
const KEY = "k".repeat(32);

function app(config: Partial<Config> = {}) {
  return testApp(config, { now: () => Date.parse("2026-03-04T05:06:07.089Z") });
}

async function call(
  handler: { fetch(req: Request): Promise<Response> },
  method: string,
  path: string,
  body?: BodyInit,
  headers: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await handler.fetch(
    new Request(BASE + path, { method, headers, ...(body === undefined ? {} : { body }) }),
  );
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
  };
}

function postJson(
  handler: App,
  path: string,
  value: unknown,
  headers: Record<string, string> = {},
) {
  return call(handler, "POST", path, JSON.stringify(value), {
    "content-type": "application/json",
    ...headers,
  });
}

function assertError(reply: { status: number; json: unknown }, status: number, code: string): void {
  assertEquals(reply.status, status);
  const json = reply.json as { error: { code: string; message: string } };
  assertEquals(Object.keys(json), ["error"]);
  assertEquals(json.error.code, code);
  assertEquals(typeof json.error.message, "string");
  assert(json.error.message.length > 0 && !json.error.message.endsWith("."));
}

Deno.test("publish: server adds id, seq, target, createTime; seq is per target", async () => {
  await using a = await app();
  const first = await postJson(a, "/api/alarms/room-1", { level: "high" });
  assertEquals(first.status, 202);
  assertMatch(
    first.json.id,
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assertEquals(first.json, { id: first.json.id, seq: 1, target: "room-1", delivered: 0 });
  assertEquals((await postJson(a, "/api/alarms/room-1", {})).json.seq, 2);
  assertEquals((await postJson(a, "/api/alarms/room-2", {})).json.seq, 1);
  // Publisher-given id and createTime are kept.
  const given = await postJson(a, "/api/alarms/room-1", {
    id: "evt-9",
    createTime: "2025-12-31 23:59:59",
  });
  assertEquals([given.json.id, given.json.seq], ["evt-9", 3]);
  assertEquals(
    (await postJson(a, "/api/alarms/room-1", { id: 42, createTime: 1767225600000 })).json.id,
    42,
  );
  assertEquals(a.metrics.alarmsPublished, 5);
});

Deno.test("publish: URLs the fast lane leaves alone answer as before, all with x-served-by", async () => {
  await using a = await app();
  // A query and an escape take the general router, a plain id the fast lane. (In process the
  // Request constructor normalizes dot segments; hostile_test sends them raw over TCP.)
  const lanes = [
    await postJson(a, "/api/alarms/q?x=1", {}),
    await postJson(a, "/api/alarms/%71", {}), // a valid id only once decoded: refused
    await postJson(a, "/api/alarms/../alarms/q", {}), // "/api/alarms/q" once normalized
    await postJson(a, "/api/alarms/q", {}),
    await postJson(a, "/api/alarms/q", []), // an error from the fast lane
    await postJson(a, "/api/alarms/..", {}), // "/api/": not found
  ];
  assertEquals(lanes.map((r) => r.status), [202, 400, 202, 202, 400, 404]);
  assertEquals(lanes.map((r) => r.json.seq ?? r.json.error.code), [
    1,
    "invalid_id",
    2,
    3,
    "not_an_object",
    "not_found",
  ]);
  for (const reply of lanes) assertEquals(reply.headers.get("x-served-by"), a.hub.instance);
  assertEquals(a.metrics.alarmsPublished, 3);
});

Deno.test("publish: bad input gets a clear JSON error and nothing is published", async () => {
  await using a = await app({ maxBodyBytes: 1024 });
  const json = { "content-type": "application/json" };
  assertError(
    await call(a, "POST", "/api/alarms/x", "{}", { "content-type": "text/plain" }),
    415,
    "unsupported_media_type",
  );
  assertError(await call(a, "POST", "/api/alarms/x", "{}"), 415, "unsupported_media_type");
  assertError(
    await call(a, "POST", "/api/alarms/x", "{}", {
      "content-type": "application/json; charset=latin1",
    }),
    415,
    "unsupported_media_type",
  );
  assertEquals(
    (await call(a, "POST", "/api/alarms/x", "{}", {
      "content-type": "Application/JSON; charset=UTF-8",
    })).status,
    202,
  );
  assertError(await call(a, "POST", "/api/alarms/x", "{", json), 400, "invalid_json");
  assertError(await call(a, "POST", "/api/alarms/x", "", json), 400, "invalid_json");
  assertError(
    await call(a, "POST", "/api/alarms/x", new Uint8Array([0x7b, 0xff, 0x7d]), json),
    400,
    "invalid_json",
  );
  assertError(await call(a, "POST", "/api/alarms/x", "[1]", json), 400, "not_an_object");
  assertError(await call(a, "POST", "/api/alarms/x", "null", json), 400, "not_an_object");
  assertError(
    await call(a, "POST", "/api/alarms/x", "[".repeat(40) + "]".repeat(40), json),
    400,
    "json_too_deep",
  );
  assertError(
    await call(a, "POST", "/api/alarms/x", `{"a":${"[".repeat(33)}${"]".repeat(33)}}`, json),
    400,
    "json_too_deep",
  );
  assertError(await postJson(a, "/api/alarms/x", { seq: 1 }), 400, "reserved_field");
  assertError(await postJson(a, "/api/alarms/x", { target: "y" }), 400, "reserved_field");
  assertError(await postJson(a, "/api/alarms/x", { id: "" }), 400, "invalid_field");
  assertError(await postJson(a, "/api/alarms/x", { id: "a\nb" }), 400, "invalid_field");
  assertError(await postJson(a, "/api/alarms/x", { id: -1 }), 400, "invalid_field");
  assertError(
    await postJson(a, "/api/alarms/x", { createTime: "yesterday" }),
    400,
    "invalid_field",
  );
  assertError(
    await postJson(a, "/api/alarms/x", { createTime: "2026-13-45T99:00:00Z" }),
    400,
    "invalid_field",
  );
  assertError(await postJson(a, "/api/alarms/x", { createTime: 1.5 }), 400, "invalid_field");
  assertError(await postJson(a, "/api/alarms/x", { pad: "x".repeat(2000) }), 413, "body_too_large");
  for (const bad of ["a%20b", "%2e", "a b", "x".repeat(129), "ü", "a%0Ab"]) {
    assertError(await postJson(a, `/api/alarms/${bad}`, {}), 400, "invalid_id");
  }
  // Only the one valid POST above was published; its seq is 1.
  assertEquals(a.metrics.alarmsPublished, 1);
  assertEquals((await postJson(a, "/api/alarms/x", {})).json.seq, 2);
  assertEquals(a.metrics.errorCount("invalid_field"), 6);
});

Deno.test("publish: an alarm too large to store is refused with 413, never after a 202", async () => {
  for (const log of ["kv", "memory"] as const) {
    await using a = await testApp({}, { log });
    // 60 KB of body that re-serializes to over 260 KB: 1e20 is written out in 21 digits.
    const numbers = Array.from({ length: 12_000 }, () => "1e20").join(",");
    const body = `{"values":[${numbers}]}`;
    assert(body.length < 64 * 1024);
    const reply = await call(a, "POST", "/api/alarms/big", body, {
      "content-type": "application/json",
    });
    assertError(reply, 413, "alarm_too_large");
    assertMatch(reply.json.error.message, /^Alarm takes \d+ bytes as JSON; the limit is 119000$/);
    const history = await call(a, "GET", "/api/alarms/big");
    assertEquals([history.json.seq, history.json.alarms], [0, []]);
    // Under the limit, yet past one KV value: read back whole, one at a time.
    const values = Array.from({ length: 5_300 }, () => 1e20); // 26 KB in, 117 KB stored
    const ok = await call(
      a,
      "POST",
      "/api/alarms/big",
      JSON.stringify({ values }).replaceAll(
        "100000000000000000000",
        "1e20",
      ),
      { "content-type": "application/json" },
    );
    assertEquals(ok.status, 202, JSON.stringify(ok.json));
    await postJson(a, "/api/alarms/big", { after: true });
    const one = await call(a, "GET", "/api/alarms/big?limit=1");
    assertEquals(one.json.alarms.length, 1);
    assertEquals(one.json.alarms[0].values, values);
    const next = await call(a, "GET", "/api/alarms/big?after=1&limit=1");
    assertEquals(next.json.alarms.map((x: { seq: number }) => x.seq), [2]);
  }
});

Deno.test("publish: a streamed body over the limit is cut off without reading it all", async () => {
  await using a = await app({ maxBodyBytes: 1024 });
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new TextEncoder().encode(" ".repeat(512)));
      if (pulled > 1000) controller.close();
    },
  });
  const res = await a.fetch(
    new Request(`${BASE}/api/alarms/x`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    }),
  );
  assertEquals(res.status, 413);
  assertEquals((await res.json()).error.code, "body_too_large");
  assert(pulled < 10, `read ${pulled} chunks`);
  // A declared Content-Length over the limit is refused before reading.
  const declared = await call(a, "POST", "/api/alarms/x", "{}", {
    "content-type": "application/json",
    "content-length": "999999",
  });
  assertEquals(declared.status, 413);
  // A Content-Length that understates the body (possible only for an in-process Request) is
  // still held to the limit.
  const lying = await call(a, "POST", "/api/alarms/x", JSON.stringify({ pad: "x".repeat(5000) }), {
    "content-type": "application/json",
    "content-length": "20",
  });
  assertEquals(lying.status, 413);
  assertEquals(a.metrics.alarmsPublished, 0);
});

Deno.test("publish to several ids and broadcast", async () => {
  await using a = await app();
  const many = await postJson(a, "/api/alarms", { targets: ["a", "b", "a"], alarm: { msg: "m" } });
  assertEquals(many.status, 202);
  assertEquals(many.json.alarms.map((x: { target: string; seq: number }) => [x.target, x.seq]), [[
    "a",
    1,
  ], ["b", 1]]);
  assertEquals(many.json.alarms[0].id, many.json.alarms[1].id);
  assertEquals(many.json.delivered, 0);
  assertError(await postJson(a, "/api/alarms", { targets: [], alarm: {} }), 400, "invalid_field");
  assertError(await postJson(a, "/api/alarms", { targets: "a", alarm: {} }), 400, "invalid_field");
  assertError(
    await postJson(a, "/api/alarms", { targets: Array(1001).fill("a"), alarm: {} }),
    400,
    "invalid_field",
  );
  assertError(
    await postJson(a, "/api/alarms", { targets: ["ok", "no way"], alarm: {} }),
    400,
    "invalid_id",
  );
  assertError(await postJson(a, "/api/alarms", { targets: [7], alarm: {} }), 400, "invalid_id");
  assertError(
    await postJson(a, "/api/alarms", { targets: ["a"], alarm: [] }),
    400,
    "invalid_field",
  );
  assertError(
    await postJson(a, "/api/alarms", { targets: ["a"], alarm: { seq: 3 } }),
    400,
    "reserved_field",
  );
  // Nobody is online: a broadcast reaches no id.
  assertEquals((await postJson(a, "/api/broadcast", { msg: "all" })).json, {
    alarms: [],
    delivered: 0,
  });
  assertError(await postJson(a, "/api/broadcast", { target: "x" }), 400, "reserved_field");
});

Deno.test("publish to several ids: ids whose list is full are named in refused, the others store it", async () => {
  await using a = await app({ maxConditions: 1 });
  assertEquals((await postJson(a, "/api/alarms/full", { key: "a" })).status, 202);
  const headers = { "idempotency-key": "batch-1" };
  const body = { targets: ["full", "room", "more"], alarm: { key: "b" } };
  const first = await postJson(a, "/api/alarms", body, headers);
  assertEquals(first.status, 202);
  assertEquals(first.json.alarms.map((x: { target: string }) => x.target), ["room", "more"]);
  assertEquals(first.json.refused.length, 1);
  assertEquals(first.json.refused[0].target, "full");
  assertEquals(first.json.refused[0].error.code, "too_many_conditions");
  assertMatch(
    first.json.refused[0].error.message,
    /^Id "full" holds the most conditions its active list may \(1\)/,
  );
  // The full id stored nothing; a retry with the key stores nothing twice.
  assertEquals((await call(a, "GET", "/api/alarms/full")).json.seq, 1);
  const again = await postJson(a, "/api/alarms", body, headers);
  assertEquals([again.status, again.json.alarms.map((x: { duplicate?: true }) => x.duplicate)], [
    202,
    [true, true],
  ]);
  assertEquals(again.json.refused[0].target, "full");
  // Once there is room, the retry stores it there too, with the same id as the others.
  const cleared = await postJson(a, "/api/conditions/full/a/clear", {});
  assertEquals(cleared.status, 200);
  assertEquals((await postJson(a, "/api/conditions/full/a/acknowledge", {})).status, 200);
  const last = await postJson(a, "/api/alarms", body, headers);
  assertEquals([last.status, "refused" in last.json], [202, false]);
  const ids = new Set(last.json.alarms.map((x: { id: string }) => x.id));
  assertEquals([ids.size, first.json.alarms[0].id], [1, [...ids][0]]);
  assertMatch(
    first.json.alarms[0].id,
    /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  // When every id refuses, the refusal is the answer; without refusals, no refused field.
  assertError(
    await postJson(a, "/api/alarms", { targets: ["full", "room"], alarm: { key: "c" } }),
    409,
    "too_many_conditions",
  );
  const fine = await postJson(a, "/api/alarms", { targets: ["room", "more"], alarm: { key: "b" } });
  assertEquals([fine.status, "refused" in fine.json], [202, false]);
});

Deno.test("routing: HEAD answers as GET wherever GET is not a stream", async () => {
  await using a = await app();
  const health = await call(a, "HEAD", "/healthz");
  assertEquals(health.status, 200);
  assertEquals(health.headers.get("content-type"), "application/json; charset=utf-8");
  assertEquals((await call(a, "HEAD", "/metrics")).status, 200);
  assertError(await call(a, "HEAD", "/nope"), 404, "not_found");
  // A stream would open only to be dropped: not answered.
  const socket = await call(a, "HEAD", "/websocket/x");
  assertEquals([socket.status, socket.headers.get("allow")], [405, "GET"]);
  const events = await call(a, "HEAD", "/events/x");
  assertEquals([events.status, events.headers.get("allow")], [405, "GET, OPTIONS"]);
  assertEquals(a.hub.occupied, 0);
});

Deno.test("routing: 404, 405 with Allow, health and metrics", async () => {
  await using a = await app();
  assertError(await call(a, "GET", "/nope"), 404, "not_found");
  assertError(await call(a, "GET", "/api/nope"), 404, "not_found");
  assertError(await call(a, "GET", "/api/alarms/x/y"), 404, "not_found");
  assertError(await call(a, "GET", "/websocket/a/b"), 404, "not_found");
  const wrong = await call(a, "DELETE", "/api/alarms/x");
  assertError(wrong, 405, "method_not_allowed");
  assertEquals(wrong.headers.get("allow"), "GET, HEAD, POST");
  assertEquals((await call(a, "DELETE", "/api/sessions")).headers.get("allow"), "GET, HEAD");
  assertEquals((await call(a, "POST", "/websocket/x")).headers.get("allow"), "GET");
  assertEquals((await call(a, "POST", "/healthz")).status, 405);
  const health = await call(a, "GET", "/healthz");
  assertEquals([health.status, health.json], [200, {
    status: "ok",
    version: VERSION,
    instance: a.hub.instance,
    instances: 1,
    delivery: "local",
  }]);
  const metrics = await call(a, "GET", "/metrics");
  assertEquals(metrics.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  for (
    const name of [
      "sessions_open 0",
      "ids_online 0",
      "frames_in_total 0",
      "frames_out_total 0",
      "alarms_published_total 0",
      "sends_dropped_total 0",
      "slow_consumer_closes_total 0",
      'errors_total{kind="not_found"} 4',
      'errors_total{kind="method_not_allowed"} 4',
      // What the docs say to alert on is there from the start, so its first rise shows.
      'errors_total{kind="store_unavailable"} 0',
      'errors_total{kind="too_many_conditions"} 0',
      'condition_changes_total{action="acknowledge"} 0',
    ]
  ) assertMatch(metrics.json, new RegExp(`^alarmcast_${name.replace(/[{}]/g, "\\$&")}$`, "m"));
  // Memory gauges: positive byte counts, the heap in use within the heap reserved.
  const gauge = (name: string) =>
    Number(new RegExp(`^alarmcast_memory_${name}_bytes (\\d+)$`, "m").exec(metrics.json)?.[1]);
  assert(gauge("rss") > 0 && gauge("external") > 0);
  assert(gauge("heap_used") > 0 && gauge("heap_used") <= gauge("heap_total"));
  await a.close();
  assertEquals((await call(a, "GET", "/healthz")).status, 503);
});

Deno.test("websocket handshake: refused before upgrade when Deno would accept it", async () => {
  await using a = await app();
  const upgrade = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  const plain = await call(a, "GET", "/websocket/x");
  assertError(plain, 426, "upgrade_required");
  assertEquals(plain.headers.get("upgrade"), "websocket");
  assertError(await call(a, "GET", "/websocket/bad%20id", undefined, upgrade), 400, "invalid_id");
  assertError(await call(a, "GET", "/websocket/", undefined, upgrade), 400, "invalid_id");
  const v8 = await call(a, "GET", "/websocket/x", undefined, {
    ...upgrade,
    "sec-websocket-version": "8",
  });
  assertError(v8, 400, "bad_handshake");
  assertEquals(v8.headers.get("sec-websocket-version"), "13");
  for (
    const key of [
      "",
      "short",
      "dGhlIHNhbXBsZSBub25jZQ",
      "dGhlIHNhbXBsZSBub25jZQ==x",
      "AAAAAAAAAAAAAAAAAAAAAAAAAA==",
    ]
  ) {
    assertError(
      await call(a, "GET", "/websocket/x", undefined, { ...upgrade, "sec-websocket-key": key }),
      400,
      "bad_handshake",
    );
  }
  assertError(
    await call(a, "GET", "/websocket/x", undefined, {
      ...upgrade,
      "sec-websocket-protocol": "chat, mqtt",
    }),
    400,
    "unsupported_subprotocol",
  );
  await a.close();
  assertError(await call(a, "GET", "/websocket/x", undefined, upgrade), 503, "shutting_down");
});

Deno.test("auth: with ALARM_API_KEY every /api/ route needs the bearer key", async () => {
  await using a = await app({ apiKey: KEY });
  for (
    const [method, path] of [
      ["POST", "/api/alarms/x"],
      ["POST", "/api/alarms"],
      ["POST", "/api/broadcast"],
      ["GET", "/api/sessions"],
      ["GET", "/api/sessions/x"],
      ["GET", "/api/nope"],
    ]
  ) {
    const reply = await call(a, method!, path!, method === "POST" ? "{}" : undefined, {
      "content-type": "application/json",
    });
    assertError(reply, 401, "unauthorized");
    assertEquals(reply.headers.get("www-authenticate"), 'Bearer realm="alarmcast"');
  }
  for (
    const header of [`Bearer ${KEY}x`, `Bearer ${KEY.slice(1)}`, `Basic ${KEY}`, KEY, "Bearer "]
  ) {
    assertError(
      await postJson(a, "/api/alarms/x", {}, { authorization: header }),
      401,
      "unauthorized",
    );
  }
  assertEquals(
    (await postJson(a, "/api/alarms/x", {}, { authorization: `Bearer ${KEY}` })).status,
    202,
  );
  assertEquals(
    (await postJson(a, "/api/alarms/x", {}, { authorization: `bearer  ${KEY}` })).status,
    202,
  );
  assertEquals(
    (await call(a, "GET", "/api/sessions", undefined, { authorization: `Bearer ${KEY}` })).json,
    { sessions: 0, ids: 0, byId: [] },
  );
  // Health, metrics and the socket endpoint are not behind the key.
  assertEquals((await call(a, "GET", "/healthz")).status, 200);
  assertEquals((await call(a, "GET", "/metrics")).status, 200);
  assertEquals(a.metrics.alarmsPublished, 2);
});

Deno.test("static files: If-None-Match matches the ETag weakly, as Deno marks it when it compresses", async () => {
  await using app = await testApp();
  const first = await app.fetch(new Request("http://x/client.js"));
  const etag = first.headers.get("etag")!;
  await first.body?.cancel();
  for (const sent of [etag, `W/${etag}`, `"other", W/${etag}`, "*"]) {
    const again = await app.fetch(
      new Request("http://x/client.js", { headers: { "if-none-match": sent } }),
    );
    assertEquals(again.status, 304, sent);
  }
  const stale = await app.fetch(
    new Request("http://x/client.js", { headers: { "if-none-match": 'W/"0"' } }),
  );
  assertEquals(stale.status, 200);
  await stale.body?.cancel();
});
