/**
 * Keeps `/openapi.json` honest: real requests, good and bad, against real servers, each answer
 * checked against the document that server serves (status documented for the operation, JSON
 * body valid against its schema, documented headers present and valid); every operation and
 * every documented status must be provoked at least once. Then the reverse: what the document
 * doesn't list answers 404 or 405 as it says.
 */
import { assert, assertEquals } from "@std/assert";
import { isValidCreateTime, isValidId, TokenKeys, VERSION } from "../lib/core/mod.ts";
import { ASSETS } from "../lib/http/static.ts";
import { FaultyKv } from "./support/faulty_kv.ts";
import { concat } from "./support/raw_ws.ts";
import { resolve, validate } from "./support/json_schema.ts";
import { type StartOptions, startServer, type TestServer } from "./support/server.ts";

const KEY = "k".repeat(32);
const SECRET = "s".repeat(32);
const AUTH = { authorization: `Bearer ${KEY}` };
const JSON_TYPE = { "content-type": "application/json" };
const ALLOWED_ORIGIN = "https://allowed.example";
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

// deno-lint-ignore no-explicit-any
type Doc = any;

/** One raw HTTP answer. */
interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The connection, left open after a 101. */
  conn?: Deno.Conn;
}

/**
 * Sends one request over raw TCP, so nothing normalizes the path or the `Host` header, and
 * reads the answer to the end (or only its head after a 101).
 */
async function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    ...(headers.upgrade ? {} : { connection: "close" }),
    ...(body === undefined
      ? {}
      : { "content-length": String(new TextEncoder().encode(body).length) }),
    ...headers,
  };
  const head = `${method} ${target} HTTP/1.1\r\n` +
    Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const bytes = new TextEncoder().encode(head + (body ?? ""));
  // A body over the limit may be refused before it is all written: the answer still comes.
  for (let done = 0; done < bytes.length;) {
    try {
      done += await conn.write(bytes.subarray(done));
    } catch {
      break;
    }
  }
  let buffer: Uint8Array = new Uint8Array();
  const chunk = new Uint8Array(65536);
  // The head, then as many bytes as `Content-Length` says (a refused upgrade keeps the
  // connection open), else everything until the server closes.
  const complete = (): boolean => {
    const end = indexOf(buffer, "\r\n\r\n");
    if (end < 0) return false;
    const head = new TextDecoder().decode(buffer.subarray(0, end));
    if (/^HTTP\/1\.1 (101|304)/.test(head) || method === "HEAD") return true;
    if (/\r\ncontent-type: *text\/event-stream/i.test(head)) return true; // a stream never ends
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    return length !== undefined && buffer.length >= end + 4 + Number(length);
  };
  // Bounded, so a server that never answers fails this test instead of hanging the suite.
  const deadline = Date.now() + 15_000;
  while (!complete()) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(chunk).catch(() => null),
      new Promise<"late">((resolve) =>
        timer = setTimeout(() => resolve("late"), deadline - Date.now())
      ),
    ]).finally(() => clearTimeout(timer));
    if (n === "late") {
      conn.close();
      throw new Error(
        `No complete answer to ${method} ${target} within 15 s: ${
          new TextDecoder().decode(buffer)
        }`,
      );
    }
    if (n === null) break;
    buffer = concat(buffer, chunk.subarray(0, n));
  }
  const end = indexOf(buffer, "\r\n\r\n");
  assert(end >= 0, `No answer head for ${method} ${target}`);
  const lines = new TextDecoder().decode(buffer.subarray(0, end)).split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const replyHeaders = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    replyHeaders.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  // After a 101 the connection belongs to the socket; an event stream keeps it too.
  if (status === 101 || replyHeaders.get("content-type")?.startsWith("text/event-stream")) {
    return { status, headers: replyHeaders, text: "", conn };
  }
  conn.close();
  let rest: Uint8Array = buffer.subarray(end + 4);
  if (replyHeaders.get("transfer-encoding") === "chunked") rest = dechunk(rest);
  return { status, headers: replyHeaders, text: new TextDecoder().decode(rest) };
}

function indexOf(buffer: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= buffer.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buffer[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function dechunk(body: Uint8Array): Uint8Array {
  let out: Uint8Array = new Uint8Array();
  let at = 0;
  for (;;) {
    const lineEnd = indexOf(body.subarray(at), "\r\n");
    const size = parseInt(new TextDecoder().decode(body.subarray(at, at + lineEnd)), 16);
    if (!(size > 0)) return out;
    at += lineEnd + 2;
    out = concat(out, body.subarray(at, at + size));
    at += size + 2;
  }
}

/** The operation of `doc` for `method` and the templated `path`. */
function operation(doc: Doc, method: string, path: string): Doc {
  return doc.paths[path]?.[method.toLowerCase()];
}

/** The documented response of `op` for `status`, with its `$ref`s resolved. */
function documented(doc: Doc, op: Doc, status: number): Doc {
  const response = op.responses[String(status)];
  return response?.$ref ? resolve(doc, response.$ref) : response;
}

/** Checks `reply` against what `doc` says `method path` answers with its status. */
function conforms(doc: Doc, method: string, path: string, reply: Reply, label: string): void {
  const op = operation(doc, method, path);
  assert(op, `${label}: ${method} ${path} is not documented`);
  const response = documented(doc, op, reply.status);
  assert(response, `${label}: ${reply.status} is not documented for ${method} ${path}`);
  for (const [name, spec] of Object.entries<Doc>(response.headers ?? {})) {
    const header = spec.$ref ? resolve(doc, spec.$ref) as Doc : spec;
    const value = reply.headers.get(name);
    if (value === null) {
      assert(!header.required, `${label}: header ${name} is missing`);
      continue;
    }
    assertEquals(validate(header.schema, value, doc), [], `${label}: header ${name}`);
  }
  const contentType = reply.headers.get("content-type");
  if (!response.content) {
    assertEquals(reply.text, "", `${label}: a body where none is documented`);
    return;
  }
  const mediaType = (contentType ?? "").split(";")[0]!.trim();
  const media = response.content[mediaType];
  assert(media, `${label}: content type ${contentType} is not documented`);
  if (mediaType === "application/json" && method !== "HEAD") {
    assertEquals(validate(media.schema, JSON.parse(reply.text), doc), [], `${label}: body`);
  }
}

/** The templated path of `doc` that `target` (a path as sent, maybe with a query) matches. */
function templateOf(doc: Doc, target: string): string | undefined {
  const path = target.split("?")[0]!;
  return Object.keys(doc.paths).find((template) =>
    new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`)
      .test(path)
  );
}

type ServerName = "main" | "open" | "throttled" | "faulty" | "closing";

/** One request of the table, and what it must get. */
interface Probe {
  /** Which server it goes to. */
  to: ServerName;
  method: string;
  /** The request target as sent. */
  target: string;
  /** The documented path it exercises, when `target` doesn't match one (a non-canonical path). */
  path?: string;
  headers?: Record<string, string> | (() => Record<string, string>);
  body?: string;
  status: number;
  code?: string;
  /** Called with the answer, e.g. to keep a token or an ETag for later probes. */
  then?: (reply: Reply) => void | Promise<void>;
}

const json = (value: unknown) => JSON.stringify(value);

/** The preflight of a cross-origin route: allowed, refused origin, malformed host. */
function corsProbes(target: string): Probe[] {
  return [
    { to: "main", method: "OPTIONS", target, headers: { origin: ALLOWED_ORIGIN }, status: 204 },
    {
      to: "main",
      method: "OPTIONS",
      target,
      headers: { origin: "https://evil.example" },
      status: 403,
      code: "origin_not_allowed",
    },
    { to: "main", method: "OPTIONS", target, headers: { host: "a b" }, status: 400 },
  ];
}

Deno.test("the JSON Schema subset validator", () => {
  const root = {
    components: {
      schemas: { Id: { type: "string", pattern: "^[a-z]{1,3}$" } },
    },
  };
  const schema = {
    type: "object",
    required: ["id", "n"],
    additionalProperties: false,
    maxProperties: 3,
    properties: {
      id: { $ref: "#/components/schemas/Id" },
      n: { type: "integer", minimum: 1, maximum: 9 },
      tags: { type: "array", maxItems: 2, items: { enum: ["a", "b"] } },
      gone: false,
    },
  };
  assertEquals(validate(schema, { id: "ab", n: 3, tags: ["a"] }, root), []);
  assertEquals(validate(schema, { id: "abcd", n: 3 }, root), ["/id: does not match ^[a-z]{1,3}$"]);
  assertEquals(validate(schema, { id: "a", n: 1.5 }, root), ["/n: expected integer, got number"]);
  assertEquals(validate(schema, { id: "a", n: 10 }, root), ["/n: above 9"]);
  assertEquals(validate(schema, { id: "a" }, root), ["/: missing property n"]);
  assertEquals(validate(schema, { id: "a", n: 1, x: 1 }, root), [
    "/x: no value is allowed here",
  ]);
  assertEquals(validate(schema, { id: "a", n: 1, gone: 1 }, root).length, 1);
  assertEquals(validate(schema, { id: "a", n: 1, tags: ["a", "c", "b"] }, root), [
    "/tags: more than 2 items",
    '/tags/1: expected one of ["a","b"]',
  ]);
  assertEquals(validate({ oneOf: [{ type: "integer" }, { type: "number" }] }, 1).length, 1);
  assertEquals(validate({ anyOf: [{ type: "integer" }, { type: "null" }] }, null), []);
  assertEquals(validate({ not: { required: ["a"] } }, { a: 1 }).length, 1);
  assertEquals(validate({ allOf: [{ minLength: 2 }, { maxLength: 2 }] }, "😀😀"), []);
  assertEquals(validate({ const: { a: [1] } }, { a: [1] }), []);
  assertEquals(validate({ format: "date-time" }, "2026-01-01T00:00:00.000Z"), []);
  assertEquals(validate({ format: "uuid" }, "nope").length, 1);
  let refused = false;
  try {
    validate({ multipleOf: 2 }, 4);
  } catch {
    refused = true; // a keyword it doesn't know must never pass silently
  }
  assert(refused);
});

Deno.test("the document's patterns accept exactly what the server accepts", async () => {
  await using server = await startServer();
  const doc: Doc = (await server.get("/openapi.json")).body;
  assertEquals(doc.openapi, "3.1.0");
  assertEquals(doc.info.version, VERSION);
  const schemas = doc.components.schemas;
  const iso = new RegExp(schemas.CreateTime.oneOf[0].pattern, "u");
  // Date-times around every boundary the server's parser draws.
  const parts = {
    date: [
      ...["2026-01-01", "2026-12-31", "2026-02-31", "2026-13-01", "2026-00-10", "2026-01-00"],
      ...["2026-02-28", "2026-02-29", "2024-02-29", "2000-02-29", "1900-02-29", "0000-02-29"],
      ...["0050-02-29", "0048-02-29", "2026-04-30", "2026-04-31", "2026-11-31", "2026-07-31"],
    ],
    sep: ["T", "t", " ", "_"],
    time: [
      "00:00",
      "23:59",
      "24:00",
      "24:30",
      "23:60",
      "12:00:59",
      "12:00:60",
      "24:00:00",
      "24:00:01",
    ],
    fraction: ["", ".5", ".000", ".001", ".123456789", ".1234567891"],
    zone: ["", "Z", "z", "+01:00", "+0100", "-23:59", "+24:00", "+00:60", "+00", "UTC"],
  };
  let checked = 0;
  for (const date of parts.date) {
    for (const sep of parts.sep) {
      for (const time of parts.time) {
        for (const fraction of parts.fraction) {
          for (const zone of parts.zone) {
            const value = `${date}${sep}${time}${fraction}${zone}`;
            assertEquals(iso.test(value), isValidCreateTime(value), value);
            checked++;
          }
        }
      }
    }
  }
  assert(checked > 10_000);
  const id = new RegExp(schemas.Id.pattern, "u");
  for (const value of ["a", "A-z_0.9:", "x".repeat(128), "x".repeat(129), "", "a/b", "a%3A", "é"]) {
    assertEquals(id.test(value), isValidId(value), value);
  }
});

Deno.test("every documented operation and status, provoked by real requests", async () => {
  await using memory = await Deno.openKv(":memory:");
  const kv = new FaultyKv(memory);
  const options = (config: StartOptions["config"], extra: StartOptions = {}): StartOptions => ({
    config: { upgradesPerMinute: 10_000, ...config },
    ...extra,
  });
  await using main = await startServer(options({
    apiKey: KEY,
    tokenSecrets: [SECRET],
    allowedOrigins: [ALLOWED_ORIGIN],
    maxSessionsPerId: 1,
    maxSessions: 2,
    maxBodyBytes: 1024,
  }));
  await using open = await startServer(options({ maxConditions: 1 }));
  await using throttled = await startServer(options({ upgradesPerMinute: 1 }));
  await using faulty = await startServer(options({}, { kv, storeTimeoutMs: 300 }));
  await using closing = await startServer(options({}));
  const servers: Record<ServerName, TestServer> = { main, open, throttled, faulty, closing };
  const docs = {} as Record<ServerName, Doc>;
  for (const [name, server] of Object.entries(servers)) {
    const reply = await server.get("/openapi.json");
    assertEquals(reply.headers.get("access-control-allow-origin"), "*");
    docs[name as ServerName] = reply.body;
  }
  // What the configuration changes, and only that.
  assertEquals(docs.main.paths["/api/sessions"].get.security, [{ bearerAuth: [] }]);
  assertEquals(docs.open.paths["/api/sessions"].get.security, undefined);
  assertEquals(Object.keys(docs.open.paths["/api/tokens"].post.responses).sort(), [
    "400",
    "413",
    "415",
    "501",
  ]);

  const tokens = new TokenKeys([SECRET]);
  const expired = await tokens.sign("plant-3", main.clock.time - 1000);
  const plantToken = await tokens.sign("plant-*", main.clock.time + 600_000);
  let token = "";
  const etags = new Map<string, string>();
  const held: Deno.Conn[] = [];
  const keep = (reply: Reply) => void (reply.conn && held.push(reply.conn));
  const upgrade = (extra: Record<string, string> = {}) => ({
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
    ...extra,
  });
  const alarm = json({ level: "high", message: "Pressure above limit" });
  const big = json({ padding: "x".repeat(2000) });
  const keyed = { ...AUTH, ...JSON_TYPE };

  const probes: Probe[] = [
    // Publishing one alarm.
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: alarm,
      status: 202,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: { ...keyed, "idempotency-key": "once" },
      body: alarm,
      status: 202,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: { ...keyed, "idempotency-key": "once" },
      body: alarm,
      status: 200,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: json({ id: 7, createTime: "2026-01-01 08:00:00", nested: { a: [1, null] } }),
      status: 202,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: "{",
      status: 400,
      code: "invalid_json",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: "[]",
      status: 400,
      code: "not_an_object",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: json({ seq: 1 }),
      status: 400,
      code: "reserved_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: json({ createTime: "2026-13-01T00:00" }),
      status: 400,
      code: "invalid_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: { ...keyed, "idempotency-key": "a b" },
      body: alarm,
      status: 400,
      code: "invalid_header",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/a%20b",
      path: "/api/alarms/{id}",
      headers: keyed,
      body: alarm,
      status: 400,
      code: "invalid_id",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: "[".repeat(40),
      status: 400,
      code: "json_too_deep",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: JSON_TYPE,
      body: alarm,
      status: 401,
      code: "unauthorized",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: keyed,
      body: big,
      status: 413,
      code: "body_too_large",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: { ...AUTH, "content-type": "text/plain" },
      body: alarm,
      status: 415,
      code: "unsupported_media_type",
    },
    {
      to: "faulty",
      method: "POST",
      target: "/api/alarms/plant-3",
      headers: JSON_TYPE,
      body: alarm,
      status: 503,
      code: "store_unavailable",
    },
    // History.
    {
      to: "main",
      method: "GET",
      target: "/api/alarms/plant-3?after=1&limit=2",
      headers: AUTH,
      status: 200,
    },
    {
      to: "main",
      method: "GET",
      target: "/api/alarms/plant-3?limit=0",
      headers: AUTH,
      status: 400,
      code: "invalid_parameter",
    },
    {
      to: "main",
      method: "GET",
      target: "/api/alarms/plant-3?limit=1&limit=2",
      headers: AUTH,
      status: 400,
      code: "invalid_parameter",
    },
    { to: "main", method: "GET", target: "/api/alarms/plant-3", status: 401 },
    { to: "faulty", method: "GET", target: "/api/alarms/plant-3", status: 503 },
    // Several targets, broadcast.
    {
      to: "main",
      method: "POST",
      target: "/api/alarms",
      headers: keyed,
      body: json({ targets: ["a", "b", "a"], alarm: { n: 1 } }),
      status: 202,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms",
      headers: keyed,
      body: json({ targets: [], alarm: {} }),
      status: 400,
      code: "invalid_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms",
      headers: keyed,
      body: json({ targets: ["a"], alarm: {}, target: "b" }),
      status: 400,
      code: "unknown_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms",
      headers: keyed,
      body: json({ targets: ["a/b"], alarm: {} }),
      status: 400,
      code: "invalid_id",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/alarms",
      headers: JSON_TYPE,
      body: "{}",
      status: 401,
    },
    { to: "main", method: "POST", target: "/api/alarms", headers: keyed, body: big, status: 413 },
    { to: "main", method: "POST", target: "/api/alarms", headers: AUTH, body: "{}", status: 415 },
    {
      to: "faulty",
      method: "POST",
      target: "/api/alarms",
      headers: JSON_TYPE,
      body: json({ targets: ["a"], alarm: {} }),
      status: 503,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/broadcast",
      headers: keyed,
      body: alarm,
      status: 202,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/broadcast",
      headers: keyed,
      body: json({ id: "" }),
      status: 400,
      code: "invalid_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/broadcast",
      headers: JSON_TYPE,
      body: alarm,
      status: 401,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/broadcast",
      headers: keyed,
      body: big,
      status: 413,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/broadcast",
      headers: { ...AUTH, "content-type": "application/json; charset=latin1" },
      body: alarm,
      status: 415,
    },
    {
      to: "faulty",
      method: "POST",
      target: "/api/broadcast",
      headers: JSON_TYPE,
      body: alarm,
      status: 503,
    },
    // Tokens.
    {
      to: "main",
      method: "POST",
      target: "/api/tokens",
      headers: keyed,
      body: json({ id: "plant-*", ttl: 600, send: ["ops"] }),
      status: 201,
      then: (reply) => void (token = JSON.parse(reply.text).token),
    },
    {
      to: "main",
      method: "POST",
      target: "/api/tokens",
      headers: keyed,
      body: json({ id: "a", ttl: 0 }),
      status: 400,
      code: "invalid_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/tokens",
      headers: keyed,
      body: json({ id: "a", ttlSeconds: 60 }),
      status: 400,
      code: "unknown_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/tokens",
      headers: JSON_TYPE,
      body: "{}",
      status: 401,
    },
    { to: "main", method: "POST", target: "/api/tokens", headers: keyed, body: big, status: 413 },
    { to: "main", method: "POST", target: "/api/tokens", headers: AUTH, body: "{}", status: 415 },
    {
      to: "open",
      method: "POST",
      target: "/api/tokens",
      headers: JSON_TYPE,
      body: json({ id: "a" }),
      status: 501,
      code: "tokens_disabled",
    },
    // WebSocket upgrades: one session per id, two in all, on the main server.
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: () =>
        upgrade({ origin: ALLOWED_ORIGIN, "sec-websocket-protocol": `alarms.v1, token.${token}` }),
      status: 101,
      then: keep,
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: () => upgrade({ "sec-websocket-protocol": `alarms.v1, token.${token}` }),
      status: 429,
      code: "too_many_sessions",
    },
    {
      to: "main",
      method: "GET",
      target: `/websocket/plant-4?since=0`,
      headers: () => upgrade({ "sec-websocket-protocol": `token.${token}, alarms.v1` }),
      status: 101,
      then: keep,
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-5",
      headers: () => upgrade({ "sec-websocket-protocol": `alarms.v1, token.${token}` }),
      status: 503,
      code: "server_full",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/other",
      headers: () => upgrade({ "sec-websocket-protocol": `alarms.v1, token.${token}` }),
      status: 403,
      code: "forbidden",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade({ origin: "https://evil.example" }),
      status: 403,
      code: "origin_not_allowed",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade(),
      status: 401,
      code: "token_required",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3?token=nope",
      headers: upgrade(),
      status: 401,
      code: "invalid_token",
    },
    {
      to: "main",
      method: "GET",
      target: `/websocket/plant-3?token=${expired}`,
      headers: upgrade(),
      status: 401,
      code: "token_expired",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      status: 426,
      code: "upgrade_required",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3?since=-1",
      headers: upgrade(),
      status: 400,
      code: "invalid_parameter",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3?since=3&since=1",
      headers: upgrade(),
      status: 400,
      code: "invalid_parameter",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/a%2Fb",
      path: "/websocket/{id}",
      headers: upgrade(),
      status: 400,
      code: "invalid_id",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade({ "sec-websocket-version": "8" }),
      status: 400,
      code: "bad_handshake",
    },
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade({ "sec-websocket-protocol": "chat" }),
      status: 400,
      code: "unsupported_subprotocol",
    },
    // Found by schemathesis: a list Deno.upgradeWebSocket can't read was a bad_handshake.
    {
      to: "main",
      method: "GET",
      target: "/websocket/plant-3",
      headers: () => upgrade({ "sec-websocket-protocol": `token.${token},alarms.v1` }),
      status: 400,
      code: "unsupported_subprotocol",
    },
    {
      to: "throttled",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade(),
      status: 101,
      then: keep,
    },
    {
      to: "throttled",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade(),
      status: 429,
      code: "too_many_upgrades",
    },
    // Sessions, health, metrics.
    { to: "main", method: "GET", target: "/api/sessions", headers: AUTH, status: 200 },
    {
      to: "main",
      method: "GET",
      target: "/api/sessions",
      headers: { ...AUTH, host: "bad_host" },
      status: 400,
      code: "invalid_host",
    },
    { to: "main", method: "GET", target: "/api/sessions", status: 401 },
    { to: "faulty", method: "GET", target: "/api/sessions", status: 503 },
    { to: "main", method: "GET", target: "/api/sessions/plant-3", headers: AUTH, status: 200 },
    { to: "main", method: "GET", target: "/api/sessions/plant-9", headers: AUTH, status: 200 },
    {
      to: "main",
      method: "GET",
      target: "/api/sessions/%2e%2e",
      path: "/api/sessions/{id}",
      headers: AUTH,
      status: 400,
      code: "invalid_path",
    },
    { to: "main", method: "GET", target: "/api/sessions/plant-3", status: 401 },
    { to: "faulty", method: "GET", target: "/api/sessions/plant-3", status: 503 },
    { to: "main", method: "GET", target: "/healthz", status: 200 },
    { to: "main", method: "GET", target: "/healthz", headers: { host: "a b" }, status: 400 },
    { to: "faulty", method: "GET", target: "/healthz", status: 503, code: "store_unavailable" },
    { to: "main", method: "GET", target: "/metrics", status: 200 },
    {
      to: "main",
      method: "GET",
      target: "/./metrics",
      path: "/metrics",
      status: 400,
      code: "invalid_path",
    },
    { to: "main", method: "GET", target: "/openapi.json", status: 200 },
    { to: "main", method: "GET", target: "/openapi.json", headers: { host: "[nope" }, status: 400 },
    // Event streams and acknowledgements over HTTP.
    { to: "open", method: "GET", target: "/events/plant-3?since=0", status: 200, then: keep },
    {
      to: "open",
      method: "GET",
      target: "/events?id=plant-3&id=plant-4&since=plant-3=0",
      status: 200,
      then: keep,
    },
    {
      to: "open",
      method: "GET",
      target: "/events/plant-3",
      headers: { "last-event-id": "x" },
      status: 400,
      code: "invalid_cursor",
    },
    { to: "open", method: "GET", target: "/events", status: 400, code: "invalid_parameter" },
    // An active list holds one condition here (`MAX_CONDITIONS`): a second is refused, whichever
    // way it is published (the streams above keep plant-3 and plant-4 online for a broadcast).
    ...([
      ["/api/alarms/full-1", { key: "a" }, 202],
      ["/api/broadcast", { key: "x" }, 202],
      ["/api/alarms/full-1", { key: "b" }, 409],
      ["/api/alarms", { targets: ["full-1"], alarm: { key: "c" } }, 409],
      ["/api/alarms", { targets: ["full-1", "room-1"], alarm: { key: "c" } }, 202],
      ["/api/broadcast", { key: "y" }, 409],
    ] as const).map(([target, body, status]): Probe => ({
      to: "open",
      method: "POST",
      target,
      headers: JSON_TYPE,
      body: json(body),
      status,
      ...(status === 409 ? { code: "too_many_conditions" } : {}),
    })),
    {
      to: "open",
      method: "GET",
      target: "/events?id=a&since=b",
      status: 400,
      code: "invalid_cursor",
    },
    { to: "main", method: "GET", target: "/events/plant-3", status: 401, code: "token_required" },
    {
      to: "main",
      method: "GET",
      target: "/events?id=a&token=nope",
      status: 401,
      code: "invalid_token",
    },
    {
      to: "main",
      method: "GET",
      target: `/events/plant-3?token=${expired}`,
      status: 401,
      code: "token_expired",
    },
    {
      to: "main",
      method: "GET",
      target: `/events?id=plant-3&id=other&token=${plantToken}`,
      status: 403,
      code: "forbidden",
    },
    // The main server is full by now (its two places went to sockets above).
    {
      to: "main",
      method: "GET",
      target: `/events/plant-5?token=${plantToken}`,
      status: 503,
      code: "server_full",
    },
    {
      to: "main",
      method: "GET",
      target: `/events?id=plant-5&token=${plantToken}`,
      status: 503,
      code: "server_full",
    },
    {
      to: "main",
      method: "GET",
      target: "/events/plant-3",
      headers: { origin: "https://evil.example" },
      status: 403,
      code: "origin_not_allowed",
    },
    { to: "throttled", method: "GET", target: "/events/plant-3", status: 429 },
    { to: "throttled", method: "GET", target: "/events?id=plant-3", status: 429 },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: keyed,
      body: json({ seq: 1 }),
      status: 200,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: keyed,
      body: json({ seq: 1e9 }),
      status: 409,
      code: "invalid_ack",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: keyed,
      body: json({ seq: 0 }),
      status: 400,
      code: "invalid_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: keyed,
      body: json({ seq: 1, session: "s" }),
      status: 400,
      code: "unknown_field",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: JSON_TYPE,
      body: json({ seq: 1 }),
      status: 401,
      code: "token_required",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: keyed,
      body: big,
      status: 413,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: AUTH,
      body: json({ seq: 1 }),
      status: 415,
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/other",
      headers: { ...JSON_TYPE, authorization: `Bearer ${plantToken}` },
      body: json({ seq: 1 }),
      status: 403,
      code: "forbidden",
    },
    {
      to: "main",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: { ...JSON_TYPE, origin: "https://evil.example" },
      body: json({ seq: 1 }),
      status: 403,
      code: "origin_not_allowed",
    },
    ...["/events/plant-3", "/events", "/api/acks/plant-3"].flatMap(corsProbes),
    {
      to: "main",
      method: "OPTIONS",
      target: "/events/bad%20id",
      status: 400,
      code: "invalid_id",
    },
    {
      to: "faulty",
      method: "POST",
      target: "/api/acks/plant-3",
      headers: JSON_TYPE,
      body: json({ seq: 1 }),
      status: 503,
      code: "store_unavailable",
    },
    // Conditions: raised by a keyed alarm, listed, read, acted on.
    ...((): Probe[] => {
      const at = "/api/conditions/plant-3";
      const act = `${at}/k1`;
      return [
        {
          to: "main",
          method: "POST",
          target: "/api/alarms/plant-3",
          headers: keyed,
          body: json({ key: "k1", level: "high" }),
          status: 202,
        },
        { to: "main", method: "GET", target: at, headers: AUTH, status: 200 },
        {
          to: "main",
          method: "GET",
          target: `${at}?state=all&level=high`,
          headers: AUTH,
          status: 200,
        },
        {
          to: "main",
          method: "GET",
          target: `${at}?state=dance`,
          headers: AUTH,
          status: 400,
          code: "invalid_parameter",
        },
        { to: "main", method: "GET", target: at, status: 401 },
        { to: "faulty", method: "GET", target: at, status: 503 },
        { to: "main", method: "GET", target: act, headers: AUTH, status: 200 },
        {
          to: "main",
          method: "GET",
          target: `${at}/%E0%A4%A`,
          headers: AUTH,
          status: 400,
          code: "invalid_key",
        },
        { to: "main", method: "GET", target: act, status: 401 },
        {
          to: "main",
          method: "GET",
          target: `${at}/nope`,
          headers: AUTH,
          status: 404,
          code: "unknown_condition",
        },
        { to: "faulty", method: "GET", target: act, status: 503 },
        {
          to: "main",
          method: "GET",
          target: "/api/performance/plant-3",
          headers: AUTH,
          status: 200,
        },
        {
          to: "main",
          method: "GET",
          target: "/api/performance/bad%20id",
          headers: AUTH,
          status: 400,
          code: "invalid_id",
        },
        { to: "main", method: "GET", target: "/api/performance/plant-3", status: 401 },
        { to: "faulty", method: "GET", target: "/api/performance/plant-3", status: 503 },
        {
          to: "main",
          method: "GET",
          target: "/api/transitions/plant-3",
          headers: AUTH,
          status: 200,
        },
        {
          to: "main",
          method: "GET",
          target: "/api/transitions/plant-3?limit=0",
          headers: AUTH,
          status: 400,
          code: "invalid_parameter",
        },
        { to: "main", method: "GET", target: "/api/transitions/plant-3", status: 401 },
        { to: "faulty", method: "GET", target: "/api/transitions/plant-3", status: 503 },
        // Each action: done, then refused by the state it left; the other refusals.
        ...([
          ["acknowledge", json({ by: "li.wei", comment: "on it" }), "not_unacknowledged"],
          ["shelve", json({ reason: "sensor swap", durationSeconds: 60 }), "already_shelved"],
          ["unshelve", json({ comment: "back" }), "not_shelved"],
          ["clear", "{}", "not_active"],
        ] as const).flatMap(([action, body, conflict]): Probe[] => [
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: keyed,
            body,
            status: 200,
          },
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: keyed,
            body,
            status: 409,
            code: conflict,
          },
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: keyed,
            body: json({ color: "red" }),
            status: 400,
            code: "unknown_field",
          },
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: JSON_TYPE,
            body,
            status: 401,
            // Clearing takes the API key whatever tokens are on: the answer asks for it.
            code: action === "clear" ? "unauthorized" : "token_required",
          },
          {
            to: "main",
            method: "POST",
            target: `/api/conditions/other/k1/${action}`,
            headers: { ...JSON_TYPE, authorization: `Bearer ${plantToken}` },
            body,
            status: 403,
            code: "forbidden",
          },
          {
            to: "main",
            method: "POST",
            target: `${at}/nope/${action}`,
            headers: keyed,
            body,
            status: 404,
            code: "unknown_condition",
          },
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: keyed,
            body: big,
            status: 413,
          },
          {
            to: "main",
            method: "POST",
            target: `${act}/${action}`,
            headers: AUTH,
            body,
            status: 415,
          },
          {
            to: "faulty",
            method: "POST",
            target: `${act}/${action}`,
            headers: JSON_TYPE,
            body,
            status: 503,
            code: "store_unavailable",
          },
          ...corsProbes(`${act}/${action}`),
        ]),
        {
          to: "main",
          method: "POST",
          target: `${act}/clear`,
          headers: { ...JSON_TYPE, authorization: `Bearer ${plantToken}` },
          body: "{}",
          status: 403,
          code: "forbidden",
        },
      ];
    })(),
    // Escalation policies.
    ...((): Probe[] => {
      const policy = json({
        match: { ids: ["plant-3"] },
        ackWithinSeconds: 60,
        escalateTo: ["lead"],
      });
      const at = "/api/policies/p1";
      return [
        { to: "main", method: "PUT", target: at, headers: keyed, body: policy, status: 201 },
        { to: "main", method: "PUT", target: at, headers: keyed, body: policy, status: 200 },
        {
          to: "main",
          method: "PUT",
          target: at,
          headers: keyed,
          body: json({ match: {}, ackWithinSeconds: 60, escalateTo: ["lead"] }),
          status: 400,
          code: "invalid_field",
        },
        { to: "main", method: "PUT", target: at, headers: JSON_TYPE, body: policy, status: 401 },
        { to: "main", method: "PUT", target: at, headers: keyed, body: big, status: 413 },
        { to: "main", method: "PUT", target: at, headers: AUTH, body: policy, status: 415 },
        {
          to: "open",
          method: "PUT",
          target: "/api/policies/one-too-many",
          headers: JSON_TYPE,
          body: policy,
          status: 409,
          code: "too_many_policies",
        },
        { to: "main", method: "GET", target: "/api/policies", headers: AUTH, status: 200 },
        {
          to: "main",
          method: "GET",
          target: "/api/policies",
          headers: { ...AUTH, host: "a b" },
          status: 400,
        },
        { to: "main", method: "GET", target: "/api/policies", status: 401 },
        { to: "main", method: "GET", target: at, headers: AUTH, status: 200 },
        { to: "main", method: "GET", target: "/api/policies/nope", headers: AUTH, status: 404 },
        { to: "main", method: "GET", target: "/api/policies/:bad%20", headers: AUTH, status: 400 },
        { to: "main", method: "GET", target: at, status: 401 },
        { to: "main", method: "DELETE", target: at, headers: AUTH, status: 204 },
        { to: "main", method: "DELETE", target: at, headers: AUTH, status: 404 },
        {
          to: "main",
          method: "DELETE",
          target: "/api/policies/:bad%20",
          headers: AUTH,
          status: 400,
        },
        { to: "main", method: "DELETE", target: at, status: 401 },
        { to: "faulty", method: "GET", target: "/api/policies", status: 503 },
        { to: "faulty", method: "GET", target: at, status: 503 },
        { to: "faulty", method: "PUT", target: at, headers: JSON_TYPE, body: policy, status: 503 },
        { to: "faulty", method: "DELETE", target: at, status: 503 },
      ];
    })(),
    // Shutting down.
    {
      to: "closing",
      method: "GET",
      target: "/websocket/plant-3",
      headers: upgrade(),
      status: 503,
      code: "shutting_down",
    },
    { to: "closing", method: "GET", target: "/healthz", status: 503 },
  ];
  for (const { path } of ASSETS) {
    probes.push(
      {
        to: "main",
        method: "GET",
        target: path,
        status: 200,
        then: (r) => void etags.set(path, r.headers.get("etag")!),
      },
      {
        to: "main",
        method: "GET",
        target: path,
        headers: () => ({ "if-none-match": etags.get(path)! }),
        status: 304,
      },
      { to: "main", method: "GET", target: path, headers: { host: "bad_host" }, status: 400 },
    );
  }

  // The open server holds as many policies as a store may: one more is a conflict (409).
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${open.http}/api/policies/full-${i}`, {
      method: "PUT",
      headers: JSON_TYPE,
      body: json({ match: { prefixes: [`full-${i}`] }, ackWithinSeconds: 60, escalateTo: ["x"] }),
    });
    assertEquals(res.status, 201);
    await res.body?.cancel();
  }
  const hit = new Set<string>();
  let closed: Promise<void> | undefined;
  for (const probe of probes) {
    const label = `${probe.to}: ${probe.method} ${probe.target}`;
    if (probe.to === "faulty") kv.hung = true;
    if (probe.to === "closing") await (closed ??= closing.app.close(100)); // refuses upgrades and reports stopping from here
    const headers = typeof probe.headers === "function" ? probe.headers() : probe.headers;
    const reply = await rawRequest(
      servers[probe.to].port,
      probe.method,
      probe.target,
      headers,
      probe.body,
    );
    assertEquals(reply.status, probe.status, `${label}: ${reply.text}`);
    const doc = docs[probe.to];
    const path = probe.path ?? templateOf(doc, probe.target);
    assert(path, `${label}: no documented path`);
    conforms(doc, probe.method, path, reply, label);
    if (probe.code) assertEquals(JSON.parse(reply.text).error.code, probe.code, label);
    hit.add(`${probe.method} ${path} ${reply.status}`);
    await probe.then?.(reply);
    // Where GET answers HEAD, the same request as HEAD: the same status and headers, no body.
    if (probe.method === "GET" && operation(doc, "HEAD", path)) {
      const again = typeof probe.headers === "function" ? probe.headers() : probe.headers;
      const head = await rawRequest(servers[probe.to].port, "HEAD", probe.target, again);
      assertEquals(head.status, reply.status, `${label} as HEAD`);
      conforms(doc, "HEAD", path, head, `${label} as HEAD`);
      for (const name of ["content-type", "cache-control", "etag", "allow", "www-authenticate"]) {
        assertEquals(head.headers.get(name), reply.headers.get(name), `${label} as HEAD: ${name}`);
      }
      hit.add(`HEAD ${path} ${head.status}`);
    }
  }
  kv.release();
  await kv.idle();
  for (const conn of held) conn.close();

  // Every operation and every status any of the documents lists was provoked.
  const missing = new Set<string>();
  for (const doc of Object.values(docs)) {
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method.toLowerCase()];
        if (!op) continue;
        for (const status of Object.keys(op.responses)) {
          const key = `${method} ${path} ${status}`;
          if (!hit.has(key)) missing.add(key);
        }
      }
    }
  }
  assertEquals([...missing], []);
});

Deno.test("what the document doesn't list: 404 for a path, 405 with Allow for a method", async () => {
  await using server = await startServer({ config: { apiKey: KEY, tokenSecrets: [SECRET] } });
  const doc: Doc = (await server.get("/openapi.json")).body;
  let checked = 0;
  // Every route checks the method before its params: a bad id with a wrong method is a 405 too.
  const paths = Object.entries<Doc>(doc.paths).flatMap(([template, item]) =>
    [
      ...new Set(
        ["plant-3", "bad!"].map((id) =>
          template.replace(/\{[^}]+\}/, id).replace(/\{[^}]+\}/g, "k")
        ),
      ),
    ]
      .map((path) => [path, item] as const)
  );
  for (const [path, item] of paths) {
    const allowed = METHODS.filter((method) => item[method.toLowerCase()]);
    for (const method of METHODS.filter((m) => !allowed.includes(m))) {
      const reply = await rawRequest(server.port, method, path, AUTH);
      const label = `${method} ${path}`;
      assertEquals(reply.status, 405, label);
      assertEquals(reply.headers.get("allow"), allowed.join(", "), label);
      if (method !== "HEAD") {
        const body = JSON.parse(reply.text);
        assertEquals(validate(doc.components.schemas.Error, body, doc), [], label);
        assertEquals(body.error.code, "method_not_allowed", label);
      }
      checked++;
    }
  }
  assert(checked >= 100, `only ${checked} methods tried`);
  for (
    const path of [
      "/nope",
      "/healthz/",
      "/openapi.yaml",
      "/v2/client.js",
      "/websocket",
      "/websocket/a/b",
      "/api",
      "/api/nope",
      "/api/alarms/a/b",
      "/api/tokens/x",
      "/api/sessions/a/b",
    ]
  ) {
    assertEquals(templateOf(doc, path), undefined, path);
    for (const method of ["GET", "POST"]) {
      const reply = await rawRequest(server.port, method, path, AUTH);
      assertEquals(reply.status, 404, `${method} ${path}`);
      const body = JSON.parse(reply.text);
      assertEquals(validate(doc.components.schemas.Error, body, doc), [], path);
      assertEquals(body.error.code, "not_found", path);
    }
  }
  // Under /api/ the key is checked before the route is looked up, as the document says.
  assertEquals((await rawRequest(server.port, "GET", "/api/nope")).status, 401);
  // No 411: a POST without a length is an empty body, read as such.
  const unsized = await rawRequest(server.port, "POST", "/api/alarms/plant-3", {
    ...AUTH,
    ...JSON_TYPE,
  });
  assertEquals([unsized.status, JSON.parse(unsized.text).error.code], [400, "invalid_json"]);
});
