import { assert, assertEquals, assertLess, assertMatch } from "@std/assert";
import { TestClient } from "./support/client.ts";
import { FaultyKv } from "./support/faulty_kv.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { type JsonReply, startServer, type TestServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";
import { WebhookReceiver } from "./support/webhook_receiver.ts";

const KEY = "k".repeat(16);
const SECRET = "w".repeat(32);
const auth = { authorization: `Bearer ${KEY}` };

async function call(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = auth,
): Promise<JsonReply> {
  const res = await fetch(server.http + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const POLICY = {
  match: { prefixes: ["plant-"], levels: ["critical"] },
  ackWithinSeconds: 1,
  escalateTo: ["shift-lead"],
};

Deno.test("policies API: create, replace, read, list, delete, with the API key", async () => {
  await using server = await startServer({ config: { apiKey: KEY } });
  const created = await call(server, "PUT", "/api/policies/boilers", POLICY);
  assertEquals(created.status, 201);
  assertEquals(created.body, {
    name: "boilers",
    match: { ids: [], prefixes: ["plant-"], levels: ["critical"] },
    ackWithinSeconds: 1,
    escalateTo: ["shift-lead"],
  });
  const replaced = await call(server, "PUT", "/api/policies/boilers", {
    ...POLICY,
    repeat: { everySeconds: 60, times: 2 },
  });
  assertEquals([replaced.status, replaced.body.repeat], [200, { everySeconds: 60, times: 2 }]);
  await call(server, "PUT", "/api/policies/another", { ...POLICY, match: { ids: ["x"] } });
  assertEquals((await call(server, "GET", "/api/policies/boilers")).body.repeat.times, 2);
  const list = await call(server, "GET", "/api/policies");
  assertEquals(list.body.policies.map((p: { name: string }) => p.name), ["another", "boilers"]);
  assertEquals((await call(server, "DELETE", "/api/policies/another")).status, 204);
  assertEquals((await call(server, "GET", "/api/policies")).body.policies.length, 1);
  for (const method of ["GET", "DELETE"]) {
    assertEquals((await call(server, method, "/api/policies/another")).body, {
      error: { code: "not_found", message: 'No policy named "another"' },
    });
  }
  assertEquals((await call(server, "PUT", "/api/policies/x", POLICY, {})).status, 401);
  assertEquals((await call(server, "GET", "/api/policies", undefined, {})).status, 401);
  const post = await call(server, "POST", "/api/policies/x", POLICY);
  assertEquals([post.status, post.headers.get("allow")], [405, "GET, HEAD, PUT, DELETE"]);
  assertEquals((await call(server, "POST", "/api/policies", POLICY)).status, 405);
});

Deno.test("policies API: bad input answers 400 with a code and a message", async () => {
  await using server = await startServer({
    config: { webhookAllowedOrigins: ["https://hooks.example.com"], webhookSecret: SECRET },
  });
  const cases: [string, unknown, string, string][] = [
    ["bad%20name", POLICY, "invalid_id", 'Policy name "bad%20name" is not a valid id'],
    ["p", { ...POLICY, ackWithinSeconds: -1 }, "invalid_field", '"ackWithinSeconds" must be'],
    ["p", { ...POLICY, surprise: true }, "unknown_field", 'Field "surprise" is not allowed'],
    [
      "p",
      { ...POLICY, repeat: { everySeconds: 60, times: 1, extra: 1 } },
      "unknown_field",
      'Field "repeat.extra" is not allowed',
    ],
    ["p", { ...POLICY, match: { levels: ["critical"] } }, "invalid_field", "one id or prefix"],
    [
      "p",
      { ...POLICY, webhook: "http://169.254.169.254/latest" },
      "webhook_not_allowed",
      'Webhook origin "http://169.254.169.254" is not in WEBHOOK_ALLOWED_ORIGINS',
    ],
    [
      "p",
      { ...POLICY, webhook: "https://hooks.example.com.evil.net/x" },
      "webhook_not_allowed",
      "is not in WEBHOOK_ALLOWED_ORIGINS",
    ],
  ];
  for (const [name, body, code, message] of cases) {
    const reply = await call(server, "PUT", `/api/policies/${name}`, body, {});
    assertEquals(reply.status, 400, message);
    assertEquals(reply.body.error.code, code);
    assert(reply.body.error.message.includes(message), reply.body.error.message);
  }
  const array = await call(server, "PUT", "/api/policies/p", [POLICY], {});
  assertEquals([array.status, array.body.error.code], [400, "not_an_object"]);
  const allowed = { ...POLICY, webhook: "https://hooks.example.com/alarmcast" };
  assertEquals((await call(server, "PUT", "/api/policies/p", allowed, {})).status, 201);
  assertEquals((await call(server, "GET", "/api/policies", undefined, {})).body.policies.length, 1);
});

Deno.test("policies API: no webhook at all without WEBHOOK_ALLOWED_ORIGINS", async () => {
  await using server = await startServer();
  const reply = await call(server, "PUT", "/api/policies/p", {
    ...POLICY,
    webhook: "http://127.0.0.1:1/x",
  }, {});
  assertEquals([reply.status, reply.body.error.code], [400, "webhook_not_allowed"]);
});

Deno.test("an unacknowledged critical alarm escalates once, to old pages as a plain alarm", async () => {
  await using server = await startServer({ now: Date.now, config: { escalationScanMs: 5000 } });
  await server.app.start(); // the scheduler runs from start
  await using lead = new LegacyPage(server.ws, ["shift-lead"], 1000);
  await lead.opened();
  assertEquals((await call(server, "PUT", "/api/policies/boilers", POLICY, {})).status, 201);
  const published = Date.now();
  const minor = await server.post("/api/alarms/plant-3", { level: "minor", message: "Door open" });
  const original = await server.post("/api/alarms/plant-3", {
    level: "critical",
    device: "boiler-7",
    message: "Pressure above limit",
  });
  assertEquals(original.status, 202);
  const stored = (await server.get("/api/alarms/plant-3")).body.alarms;
  assertEquals(stored[0].ackBy, undefined); // minor: no policy covers it
  const ackBy = Date.parse(stored[1].ackBy);
  assert(ackBy >= published + 1000 && ackBy < Date.now() + 1000, stored[1].ackBy);

  await lead.until(() => lead.list.length === 1);
  const escalation = lead.list[0]!;
  const late = Date.now() - ackBy;
  assert(late >= 0, `escalated ${-late} ms early`);
  assertLess(late, 2000); // this instance wrote the deadline: its own timer, not the 5 s scan
  assertEquals(escalation.target, "shift-lead");
  assertEquals(escalation.kind, "escalation");
  assertEquals(escalation.level, "critical");
  assertEquals(escalation.device, "boiler-7");
  assertEquals(escalation.message, "plant-3 #2 not acknowledged within 1 s: Pressure above limit");
  assertEquals(escalation.escalation, {
    policy: "boilers",
    step: 1,
    target: "plant-3",
    seq: 2,
    alarmId: original.body.id,
    deadline: new Date(ackBy).toISOString(),
  });
  assertEquals(lead.problems, []);
  assertEquals(minor.body.seq, 1);
  await waitFor(() => server.app.metrics.escalationsFired === 1);
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  assertMatch(metrics, /^alarmcast_escalations_total\{outcome="escalated"\} 1$/m);
  // Nothing is left to do: the deadline is gone.
  assertEquals(await server.app.escalation.scan(), 0);
});

Deno.test("an ack from any session of the id before the deadline cancels the escalation", async () => {
  await using server = await startServer({ now: Date.now });
  await server.app.start();
  await using operator = await TestClient.open(`${server.ws}/websocket/plant-3`, "alarms.v1");
  assertEquals((await operator.nextJson()).type, "welcome");
  await using lead = new LegacyPage(server.ws, ["shift-lead"], 1000);
  await lead.opened();
  await call(server, "PUT", "/api/policies/boilers", { ...POLICY, ackWithinSeconds: 2 }, {});
  await server.post("/api/alarms/plant-3", { level: "critical", message: "first" });
  await server.post("/api/alarms/plant-3", { level: "critical", message: "second" });
  assertEquals((await operator.nextJson()).alarm.seq, 1);
  assertEquals((await operator.nextJson()).alarm.seq, 2);
  operator.send(JSON.stringify({ type: "ack", seq: 1 })); // the second stays unacknowledged
  await waitFor(() =>
    server.app.metrics.escalationsCancelled === 1 && server.app.metrics.escalationsFired === 1
  );
  // The escalation is published after its claim: wait for it to arrive.
  await lead.until(() => lead.list.length === 1);
  assertEquals(lead.list.map((a) => (a.escalation as { seq: number }).seq), [2]);
  assertEquals((await server.get("/api/alarms/shift-lead")).body.alarms.length, 1);
});

/** The hex HMAC-SHA256 of `message` under `secret`, computed here independently. */
async function hmac(secret: string, message: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["dgst", "-sha256", "-hmac", secret, "-r"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(message));
  await writer.close();
  const { stdout } = await out.output();
  return new TextDecoder().decode(stdout).split(" ")[0]!;
}

Deno.test("webhooks: signed, retried with backoff after 503s, one idempotency key", async () => {
  await using receiver = new WebhookReceiver((n) => n < 2 ? 503 : 200);
  await using server = await startServer({
    now: Date.now,
    config: {
      webhookAllowedOrigins: [receiver.origin],
      webhookSecret: SECRET,
      webhookBackoffMs: 100,
      webhookMaxBackoffMs: 1000,
    },
  });
  await server.app.start(); // the scheduler runs from start
  const policy = { ...POLICY, escalateTo: [], webhook: `${receiver.origin}/hooks/alarmcast` };
  assertEquals((await call(server, "PUT", "/api/policies/boilers", policy, {})).status, 201);
  const original = await server.post("/api/alarms/plant-3", { level: "critical", message: "Hot" });
  await receiver.received(3);
  const [first, second, third] = receiver.requests as [Received, Received, Received];
  // Exponential: 100 ms after the first failure, 200 ms after the second (timers may run late).
  assert(second.at - first.at >= 90, `${second.at - first.at} ms`);
  assert(third.at - second.at >= 190, `${third.at - second.at} ms`);
  const key = "escalation/boilers/plant-3/1/1";
  for (const request of receiver.requests) {
    assertEquals(request.headers.get("idempotency-key"), key);
    assertEquals(request.headers.get("content-type"), "application/json");
    const timestamp = request.headers.get("x-alarmcast-timestamp")!;
    assertMatch(timestamp, /^\d{10}$/);
    assertLess(Math.abs(Number(timestamp) * 1000 - request.at), 2000);
    const expected = await hmac(SECRET, `${timestamp}.${request.body}`);
    assertEquals(request.headers.get("x-alarmcast-signature"), `v1=${expected}`);
  }
  const body = JSON.parse(third.body);
  assertEquals(body.type, "escalation");
  assertEquals(body.escalation.policy, "boilers");
  assertEquals([body.escalation.target, body.escalation.seq, body.escalation.step], [
    "plant-3",
    1,
    1,
  ]);
  assertEquals(body.alarm.id, original.body.id);
  assertEquals(body.alarm.message, "Hot");
  await waitFor(() => server.app.metrics.webhooksDelivered === 1);
  assertEquals([server.app.metrics.webhooksRetried, server.app.metrics.webhooksFailed], [2, 0]);
  const metrics = await (await fetch(`${server.http}/metrics`)).text();
  assertMatch(metrics, /^alarmcast_webhooks_total\{outcome="retried"\} 2$/m);
  assertMatch(metrics, /^alarmcast_webhooks_total\{outcome="delivered"\} 1$/m);
});

Deno.test("webhooks: a 4xx is not retried; attempts stop at the cap; redirects are not followed", async () => {
  await using refusing = new WebhookReceiver(() => 400);
  await using failing = new WebhookReceiver(() => 500);
  await using redirecting = new WebhookReceiver(() => 307);
  const failures: Record<string, unknown>[] = [];
  await using server = await startServer({
    now: Date.now,
    logger: {
      log: (_level, msg, fields) => msg === "webhook failed" && failures.push(fields ?? {}),
    },
    config: {
      webhookAllowedOrigins: [refusing.origin, failing.origin, redirecting.origin],
      webhookSecret: SECRET,
      webhookBackoffMs: 10,
      webhookMaxAttempts: 3,
    },
  });
  await server.app.start(); // the scheduler runs from start
  for (const [name, receiver] of [["a", refusing], ["b", failing], ["c", redirecting]] as const) {
    await call(server, "PUT", `/api/policies/${name}`, {
      match: { ids: [name] },
      ackWithinSeconds: 1,
      escalateTo: [],
      webhook: `${receiver.origin}/`,
    }, {});
    await server.post(`/api/alarms/${name}`, { level: "critical" });
  }
  await waitFor(() => server.app.metrics.webhooksFailed === 3);
  assertEquals(
    [refusing.requests.length, failing.requests.length, redirecting.requests.length],
    [1, 3, 1],
  );
  assertEquals(server.app.metrics.webhooksRetried, 2);
  // The log says why each gave up.
  assertEquals(
    failures.map((f) => [f.policy, f.attempts, f.reason]).sort(),
    [["a", 1, "Answered 400"], ["b", 3, "Answered 500"], ["c", 1, "Answered 307"]],
  );
});

type Received = import("./support/webhook_receiver.ts").Received;

Deno.test("an alarm no policy covers costs no KV call more; a covered one rides in the same commit", async () => {
  using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  await using server = await startServer({ kv });
  await call(server, "PUT", "/api/policies/boilers", { ...POLICY, ackWithinSeconds: 600 }, {});
  const calls = () => Object.values(kv.calls).reduce((a, b) => a + b, 0);
  async function cost(target: string): Promise<[number, number]> {
    const before = { ...kv.calls };
    const total = calls();
    for (let i = 0; i < 10; i++) {
      assertEquals((await server.post(`/api/alarms/${target}`, { level: "critical" })).status, 202);
    }
    return [calls() - total, kv.calls.commit - before.commit];
  }
  const uncovered = await cost("office-1");
  const covered = await cost("plant-1");
  assertEquals(uncovered, [11, 10]); // one head read for the new id, one commit per alarm
  assertEquals(covered, uncovered);
  const due = await Array.fromAsync(memory.list({ prefix: ["due"] }));
  assertEquals(due.length, 10);
});
