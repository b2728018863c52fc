import { assert, assertEquals, assertThrows } from "@std/assert";
import { isValidCreateTime, prepareAlarm } from "../lib/alarm.ts";
import { ConfigError, DEFAULT_CONFIG, parseConfig } from "../lib/config.ts";
import { HttpError } from "../lib/http_error.ts";
import { isValidId } from "../lib/ids.ts";
import { checkShape, parseJson } from "../lib/json.ts";
import { createLogger, formatRecord } from "../lib/log.ts";
import { decodeClientMessage, encodeLegacyAlarm, wrapAlarmFrame } from "../lib/protocol.ts";
import { publishTarget } from "../lib/route_util.ts";
import { exceedsUtf8Bytes } from "../lib/upgrade.ts";

Deno.test("config: defaults, overrides and every problem at once", () => {
  assertEquals(parseConfig({}), DEFAULT_CONFIG);
  assertEquals(parseConfig({ PORT: "", HOST: "" }).port, 8080);
  const config = parseConfig({
    PORT: "9000",
    HOST: "127.0.0.1",
    ALARM_API_KEY: "0123456789abcdef",
    IDLE_TIMEOUT_SECONDS: "0",
    HEARTBEAT_TIMEOUT_SECONDS: "45",
    MAX_MESSAGE_BYTES: "4096",
    MAX_BODY_BYTES: "2048",
    SLOW_CONSUMER_BYTES: "65536",
    LOG_LEVEL: "warn",
    HOSTNAME: "container-name", // containers set this; it must be ignored
    KV_PATH: ":memory:",
    RETENTION_COUNT: "50",
    RETENTION_SECONDS: "3600",
    SERVE_MODE: "export",
    WS_TOKEN_SECRET: "s".repeat(32),
    WS_TOKEN_SECRET_PREVIOUS: "p".repeat(32),
    ALLOWED_ORIGINS: "https://ops.example.com, http://localhost:8080",
    MESSAGE_RATE: "5",
    MESSAGE_BURST: "10",
    UPGRADES_PER_MINUTE: "0",
    MAX_SESSIONS_PER_ID: "3",
    MAX_SESSIONS: "1000",
  });
  assertEquals(config, {
    port: 9000,
    host: "127.0.0.1",
    apiKey: "0123456789abcdef",
    idleTimeoutSeconds: 0,
    heartbeatTimeoutMs: 45_000,
    maxMessageBytes: 4096,
    maxBodyBytes: 2048,
    slowConsumerBytes: 65536,
    logLevel: "warn",
    kvPath: ":memory:",
    retentionCount: 50,
    retentionMs: 3_600_000,
    serveMode: "export",
    tokenSecrets: ["s".repeat(32), "p".repeat(32)],
    allowedOrigins: ["https://ops.example.com", "http://localhost:8080"],
    messageRate: 5,
    messageBurst: 10,
    upgradesPerMinute: 0,
    maxSessionsPerId: 3,
    maxSessions: 1000,
  });
  // On Deno Deploy the default store is the app's managed KV.
  assertEquals(parseConfig({ DENO_DEPLOY: "1", REQUIRE_AUTH: "0" }).kvPath, undefined);
  assertEquals(parseConfig({}).kvPath, "data/alarmcast.sqlite3");
  assertThrows(
    () => parseConfig({ SERVE_MODE: "serve" }),
    ConfigError,
    'SERVE_MODE must be "listen" or "export"',
  );
  assertThrows(() => parseConfig({ MAX_BODY_BYTES: "65537" }), ConfigError, "MAX_BODY_BYTES");
});

Deno.test("config: fail closed on Deno Deploy or with REQUIRE_AUTH=1", () => {
  const secrets = { ALARM_API_KEY: "k".repeat(16), WS_TOKEN_SECRET: "s".repeat(32) };
  for (const env of [{ DENO_DEPLOY: "1" }, { REQUIRE_AUTH: "1" }]) {
    const error = assertThrows(() => parseConfig(env), ConfigError);
    assert(error.message.includes("ALARM_API_KEY is required"), error.message);
    assert(error.message.includes("WS_TOKEN_SECRET is required"), error.message);
    assertThrows(
      () => parseConfig({ ...env, ALARM_API_KEY: secrets.ALARM_API_KEY }),
      ConfigError,
      "WS_TOKEN_SECRET",
    );
    assertEquals(parseConfig({ ...env, ...secrets }).tokenSecrets, [secrets.WS_TOKEN_SECRET]);
  }
  // An explicit opt-out, e.g. for a public demo on Deploy.
  assertEquals(parseConfig({ DENO_DEPLOY: "1", REQUIRE_AUTH: "0" }).apiKey, undefined);
  assertThrows(() => parseConfig({ REQUIRE_AUTH: "yes" }), ConfigError, "REQUIRE_AUTH");
  assertThrows(() => parseConfig({ WS_TOKEN_SECRET: "short" }), ConfigError, "at least 32");
  assertThrows(
    () => parseConfig({ WS_TOKEN_SECRET_PREVIOUS: "p".repeat(32) }),
    ConfigError,
    "needs WS_TOKEN_SECRET",
  );
  assertThrows(
    () => parseConfig({ ALLOWED_ORIGINS: "https://ok.example, *.evil" }),
    ConfigError,
    '"*.evil"',
  );
  assertThrows(
    () => parseConfig({ ALLOWED_ORIGINS: "https://ok.example/path" }),
    ConfigError,
    "ALLOWED_ORIGINS",
  );
  const error = assertThrows(
    () =>
      parseConfig({
        PORT: "-1",
        IDLE_TIMEOUT_SECONDS: "1.5",
        HEARTBEAT_TIMEOUT_SECONDS: "1",
        HOST: "a b",
      }),
    ConfigError,
  );
  assertEquals(error.message.split("; ").length, 4);
  assertThrows(() => parseConfig({ MAX_MESSAGE_BYTES: "0x10" }), ConfigError, 'got "0x10"');
});

Deno.test("ids: allowed characters and length", () => {
  for (const ok of ["1", "a-b_c.d:e", "A".repeat(128), "..", "device:42"]) {
    assert(isValidId(ok), ok);
  }
  for (const bad of ["", "A".repeat(129), "a/b", "a b", "a%20b", "é", "a\n", 7, null]) {
    assert(!isValidId(bad), String(bad));
  }
});

Deno.test("json: depth is checked on the text, ignoring brackets in strings", () => {
  assertEquals(checkShape("[[[]]]", 3), undefined);
  assertEquals(checkShape("[[[[]]]]", 3), "too_deep");
  assertEquals(checkShape(`{"a":"[[[[[[[[\\"[[[["}`, 2), undefined);
  assertEquals(checkShape(`["\\\\", [[[]]]]`, 3), "too_deep");
  assertEquals(checkShape(`{"a":1,"b":{"c":2}}`, 32, 3), undefined);
  assertEquals(checkShape(`{"a":1,"b":{"c":2,"d":3}}`, 32, 3), "too_many_keys");
  assertEquals(checkShape(`{"a":"x:y:z:w"}`, 32, 1), undefined);
  assertEquals(parseJson("[".repeat(100_000)), { ok: false, reason: "too_deep" });
  assertEquals(parseJson("{"), { ok: false, reason: "invalid_json" });
  assertEquals(parseJson(`{"a":[1]}`), { ok: true, value: { a: [1] } });
});

Deno.test("alarm: stamping and validation", () => {
  const now = Date.parse("2026-05-06T07:08:09.010Z");
  assertEquals(prepareAlarm({ level: "x" }, now, () => "uuid-1").fields, {
    level: "x",
    id: "uuid-1",
    createTime: "2026-05-06T07:08:09.010Z",
  });
  assertEquals(prepareAlarm({ id: 0, createTime: 0 }, now).fields, { id: 0, createTime: 0 });
  // A "__proto__" key from JSON is kept as data, not as a prototype.
  const proto = prepareAlarm(JSON.parse(`{"__proto__":{"polluted":1}}`), now, () => "u").fields;
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  assertEquals(JSON.parse(JSON.stringify(proto)).__proto__, { polluted: 1 });
  for (
    const ok of [
      "2026-01-01T00:00:00Z",
      "2026-01-01 00:00:00",
      "2026-01-01T00:00",
      "2026-01-01T00:00:00.123456+08:00",
      1767225600000,
    ]
  ) {
    assert(isValidCreateTime(ok), String(ok));
  }
  for (const bad of ["2026-01-01", "tomorrow", "2026-01-01T25:00:00Z", -1, 1.5, NaN, null, {}]) {
    assert(!isValidCreateTime(bad), String(bad));
  }
  const error = assertThrows(() => prepareAlarm({ seq: 1 }, now), HttpError);
  assertEquals([error.status, error.code, error.message], [
    400,
    "reserved_field",
    'Field "seq" is set by the server',
  ]);
});

Deno.test("protocol: decoding client messages never throws", () => {
  assertEquals(decodeClientMessage("PING"), { ok: true, message: { type: "ping" } });
  assertEquals(decodeClientMessage(`{"type":"ping","extra":1}`), {
    ok: true,
    message: { type: "ping" },
  });
  assertEquals(decodeClientMessage(`{"type":"send","to":"b","data":[1]}`), {
    ok: true,
    message: { type: "send", to: "b", data: [1] },
  });
  assertEquals(decodeClientMessage(`{"type":"ack","seq":3}`), {
    ok: true,
    message: { type: "ack", seq: 3 },
  });
  const codes: [string, string][] = [
    ["ping", "invalid_json"],
    ["", "invalid_json"],
    ["null", "invalid_message"],
    ["42", "invalid_message"],
    [`{"type":7}`, "unknown_type"],
    [`{}`, "unknown_type"],
    [`{"type":"__proto__"}`, "unknown_type"],
    [`{"type":"send","to":"b"}`, "invalid_message"],
    [`{"type":"send","data":1}`, "invalid_message"],
    [`{"type":"ack","seq":"3"}`, "invalid_message"],
    [`{"type":"ack","seq":1.5}`, "invalid_message"],
    [`{"type":"ack","seq":9007199254740993}`, "invalid_message"],
    ["[".repeat(50) + "]".repeat(50), "json_too_deep"],
  ];
  for (const [text, code] of codes) {
    const decoded = decodeClientMessage(text);
    assertEquals(decoded.ok ? "ok" : decoded.code, code, text);
  }
  const long = decodeClientMessage(JSON.stringify({ type: "x".repeat(1000) }));
  assert(!long.ok && long.message.length < 100, "quoted values are cut short");
});

Deno.test("protocol: the v1 alarm frame wraps the legacy frame byte for byte", () => {
  const alarm = {
    id: "a",
    seq: 1,
    target: "t",
    createTime: "2026-01-01T00:00:00Z",
    type: "x",
    "k\u2028": '"',
  };
  const legacy = encodeLegacyAlarm(alarm);
  assertEquals(JSON.parse(legacy), alarm);
  assertEquals(JSON.parse(wrapAlarmFrame(legacy)), { type: "alarm", alarm });
});

Deno.test("utf-8 size check counts bytes, not UTF-16 units", () => {
  assertEquals(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assertEquals(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assertEquals(exceedsUtf8Bytes("€".repeat(3), 9), false);
  assertEquals(exceedsUtf8Bytes("€".repeat(4), 11), true);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 8), false);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 7), true);
  assertEquals(exceedsUtf8Bytes("é".repeat(5), 9), true);
});

Deno.test("log: one line per record, U+2028/9 escaped, level filter", () => {
  const line = formatRecord(new Date(0), "info", "m", { reason: "a\nb\u2028c\u2029d\u001b" });
  assertEquals(line.split(/\r|\n|\u2028|\u2029/).length, 1);
  assertEquals(JSON.parse(line).reason, "a\nb\u2028c\u2029d\u001b");
  const lines: string[] = [];
  const logger = createLogger({ level: "warn", write: (l) => lines.push(l), now: () => 0 });
  logger.log("info", "dropped");
  logger.log("error", "kept", { n: 1 });
  assertEquals(lines, [`{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"kept","n":1}`]);
});

Deno.test("publishTarget takes only URLs a URL parser would leave as they are", () => {
  const at = (path: string) => publishTarget(`http://127.0.0.1:8080${path}`);
  assertEquals(at("/api/alarms/plant-3"), "plant-3");
  assertEquals(at("/api/alarms/a.b:c_d-E9"), "a.b:c_d-E9");
  assertEquals(at(`/api/alarms/${"x".repeat(128)}`), "x".repeat(128));
  assertEquals(publishTarget("https://alarms.example/api/alarms/x"), "x");
  for (
    const path of [
      "/api/alarms/",
      "/api/alarms/x/",
      "/api/alarms/x/y",
      "/api/alarms/x?since=1",
      "/api/alarms/x#top",
      "/api/alarms/%78",
      "/api/alarms/.",
      "/api/alarms/..",
      "/api/alarms/a b",
      `/api/alarms/${"x".repeat(129)}`,
      "/api/alarms",
      "/x/api/alarms/y",
      "/API/alarms/x",
    ]
  ) assertEquals(at(path), undefined, path);
});
