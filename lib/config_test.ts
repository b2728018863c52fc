import { assert, assertEquals, assertThrows } from "@std/assert";
import { ConfigError, DEFAULT_CONFIG, misspeltSettings, parseConfig, SETTINGS } from "./config.ts";

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
    STORE_TIMEOUT_SECONDS: "2",
    RETENTION_COUNT: "50",
    RETENTION_SECONDS: "3600",
    SERVE_MODE: "export",
    WS_TOKEN_SECRET: "s".repeat(32),
    WS_TOKEN_SECRET_PREVIOUS: "p".repeat(32),
    ALLOWED_ORIGINS: "https://ops.example.com, http://localhost:8080",
    ALLOWED_HOSTS: "Alarms.Example.com, ops.example.com:8443",
    TRUSTED_PROXIES: "127.0.0.1, ::1",
    MESSAGE_RATE: "5",
    MESSAGE_BURST: "10",
    UPGRADES_PER_MINUTE: "0",
    MAX_SESSIONS_PER_ID: "3",
    MAX_SESSIONS: "1000",
    MAX_SESSIONS_PER_ADDRESS: "7",
    WEBHOOK_ALLOWED_ORIGINS: "https://hooks.example.com, http://127.0.0.1:9000",
    WEBHOOK_SECRET: "w".repeat(32),
    WEBHOOK_TIMEOUT_SECONDS: "3",
    WEBHOOK_MAX_ATTEMPTS: "4",
    WEBHOOK_BACKOFF_MS: "200",
    WEBHOOK_MAX_BACKOFF_SECONDS: "5",
    ESCALATION_SCAN_MS: "250",
    MAX_SHELVE_SECONDS: "600",
    MAX_CONDITIONS: "500",
    REUSE_PORT: "1",
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
    storeTimeoutMs: 2000,
    retentionCount: 50,
    retentionMs: 3_600_000,
    serveMode: "export",
    reusePort: true,
    tokenSecrets: ["s".repeat(32), "p".repeat(32)],
    allowedOrigins: ["https://ops.example.com", "http://localhost:8080"],
    allowedHosts: ["alarms.example.com", "ops.example.com:8443"],
    trustedProxies: ["127.0.0.1", "::1"],
    messageRate: 5,
    messageBurst: 10,
    upgradesPerMinute: 0,
    maxSessionsPerId: 3,
    maxSessions: 1000,
    maxSessionsPerAddress: 7,
    webhookAllowedOrigins: ["https://hooks.example.com", "http://127.0.0.1:9000"],
    webhookSecret: "w".repeat(32),
    webhookTimeoutMs: 3000,
    webhookMaxAttempts: 4,
    webhookBackoffMs: 200,
    webhookMaxBackoffMs: 5000,
    escalationScanMs: 250,
    maxShelveSeconds: 600,
    maxConditions: 500,
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
  assertEquals(parseConfig({}).reusePort, false);
  assertThrows(
    () => parseConfig({ REUSE_PORT: "yes" }),
    ConfigError,
    'REUSE_PORT must be "0" or "1", got "yes"',
  );
});

Deno.test("config: fail closed on Deno Deploy or with REQUIRE_AUTH=1", () => {
  const secrets = { ALARM_API_KEY: "k".repeat(16), WS_TOKEN_SECRET: "s".repeat(32) };
  for (const env of [{ DENO_DEPLOY: "1" }, { REQUIRE_AUTH: "1" }]) {
    const error = assertThrows(() => parseConfig(env), ConfigError);
    assert(/ALARM_API_KEY is required (with REQUIRE_AUTH=1|on Deno Deploy)/.test(error.message));
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
  // The message names the secret that is short, not one that isn't set.
  const short = assertThrows(() => parseConfig({ WS_TOKEN_SECRET: "short" }), ConfigError);
  assertEquals(short.message.includes("WS_TOKEN_SECRET must be at least 32 characters"), true);
  assertEquals(short.message.includes("PREVIOUS"), false);
  assertThrows(
    () => parseConfig({ WS_TOKEN_SECRET: "s".repeat(32), WS_TOKEN_SECRET_PREVIOUS: "old" }),
    ConfigError,
    "WS_TOKEN_SECRET_PREVIOUS must be at least 32 characters",
  );
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
  // Host names as a Host header carries them: no scheme, no path, not commas alone.
  for (
    const hosts of [
      "https://alarms.example.com",
      "alarms.example.com/x",
      "*.example.com",
      ",",
      "alarms.example.com:99999",
      "alarms.example.com:08443",
      "alarms.example.com:0",
    ]
  ) {
    assertThrows(() => parseConfig({ ALLOWED_HOSTS: hosts }), ConfigError, "ALLOWED_HOSTS");
  }
  // Entries no browser sends would never match; commas alone would allow every origin.
  for (
    const [origins, message] of [
      ["https://A.com", '"https://A.com" for "https://a.com"'],
      ["https://b.com:443", '"https://b.com:443" for "https://b.com"'],
      ["HTTP://a.com", '"HTTP://a.com" for "http://a.com"'],
      ["chrome-extension://ABCD", '"chrome-extension://ABCD" for "chrome-extension://abcd"'],
      ["https://*.example.com", "ALLOWED_ORIGINS entries must be origins"],
      [",", "ALLOWED_ORIGINS lists no origin"],
      [" , ", "ALLOWED_ORIGINS lists no origin"],
    ]
  ) {
    assertThrows(() => parseConfig({ ALLOWED_ORIGINS: origins }), ConfigError, message);
  }
  const accepted = [
    "null",
    "http://localhost:8080",
    "http://[::1]:8080",
    "chrome-extension://abcdefghijklmnop",
    "https://ok_com.example",
  ];
  assertEquals(
    parseConfig({ ALLOWED_ORIGINS: accepted.join(",") }).allowedOrigins,
    accepted,
  );
  // A store that can't be opened as written is a setting to fix (exit 78), not a crash.
  const token = { DENO_KV_ACCESS_TOKEN: "t".repeat(32) };
  for (
    const kv of [
      "http://127.0.0.1:notaport",
      "http://",
      "https://",
      "http:// 127.0.0.1",
      "HTTP://127.0.0.1:4512",
      "htp://x",
      "ftp://x",
      ":memory",
      "memory:",
      "memory",
      "http//x",
      "http:/x",
      "https//kv.example.com",
      " http://127.0.0.1:4512",
      "https:kv.example.com",
      "https:\\kv.example.com",
      "https;//kv.example.com",
      "//kv.example.com",
      "data/kv.sqlite3 ",
      "localhost:4512",
      "kv.example.com:4512",
      "127.0.0.1:4512",
    ]
  ) {
    assertThrows(
      () => parseConfig({ KV_PATH: kv, ...token }),
      ConfigError,
      `got ${JSON.stringify(kv)}`,
    );
  }
  assertThrows(
    () => parseConfig({ KV_PATH: "localhost:4512", ...token }),
    ConfigError,
    'name a KV Connect server by its URL ("http://localhost:4512")',
  );
  for (const missing of [{}, { DENO_KV_ACCESS_TOKEN: "  " }]) {
    assertThrows(
      () => parseConfig({ KV_PATH: "http://127.0.0.1:4512", ...missing }),
      ConfigError,
      "needs DENO_KV_ACCESS_TOKEN",
    );
  }
  for (
    const kv of [
      "http://127.0.0.1:4512",
      "https://kv.example.com/db?x=1",
      "http://[::1]:4512",
      ":memory:",
      "a:b.db",
      "memory.sqlite3",
      "httpd/kv.sqlite3",
    ]
  ) {
    assertEquals(parseConfig({ KV_PATH: kv, ...token }).kvPath, kv);
  }
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
  for (const bad of ["0", "1000001", "ten"]) {
    assertThrows(() => parseConfig({ MAX_CONDITIONS: bad }), ConfigError, "MAX_CONDITIONS");
  }
  // A range or a typo would trust nobody (or the wrong peer) without a word: refused at start.
  for (const bad of ["127.0.0.0/8", "127.0.0.01", "999.1.1.1", "proxy", "::1/128"]) {
    assertThrows(
      () => parseConfig({ TRUSTED_PROXIES: `::1, ${bad}` }),
      ConfigError,
      `TRUSTED_PROXIES entries must be IP addresses like "127.0.0.1" (no ranges), got ${
        JSON.stringify(bad)
      }`,
    );
  }
  // IPv6 as Deno reports a peer: in its canonical form.
  assertEquals(parseConfig({ TRUSTED_PROXIES: "0:0:0:0:0:0:0:1, 10.0.0.2" }).trustedProxies, [
    "::1",
    "10.0.0.2",
  ]);
  for (const key of [" " + "k".repeat(16), "k".repeat(16) + " ", " ".repeat(20)]) {
    assertThrows(
      () => parseConfig({ ALARM_API_KEY: key }),
      ConfigError,
      "ALARM_API_KEY must not start or end with whitespace",
    );
  }
  assertEquals(parseConfig({}).maxConditions, 1000);
  // An empty value is no value (docs/operations.md).
  const empty = parseConfig({ ALARM_API_KEY: "", PORT: "", MAX_CONDITIONS: "" });
  assertEquals([empty.apiKey, empty.port, empty.maxConditions], [undefined, 8080, 1000]);
});

Deno.test("config: Deno's protocol ping waits 2.5 heartbeat intervals, never less", () => {
  // The old page's 30 s PING is the longest interval by default: ping after 37.5 s of silence.
  assertEquals(DEFAULT_CONFIG.idleTimeoutSeconds, 75);
  // v1 clients heartbeat at a third of the timeout: 100 s here, so 250 s.
  assertEquals(parseConfig({ HEARTBEAT_TIMEOUT_SECONDS: "300" }).idleTimeoutSeconds, 250);
  assertEquals(parseConfig({ HEARTBEAT_TIMEOUT_SECONDS: "30" }).idleTimeoutSeconds, 75);
  assertEquals(parseConfig({ IDLE_TIMEOUT_SECONDS: "0" }).idleTimeoutSeconds, 0);
  assertEquals(parseConfig({ IDLE_TIMEOUT_SECONDS: "75" }).idleTimeoutSeconds, 75);
  assertEquals(parseConfig({ IDLE_TIMEOUT_SECONDS: "600" }).idleTimeoutSeconds, 600);
  assertThrows(
    () => parseConfig({ IDLE_TIMEOUT_SECONDS: "30" }),
    ConfigError,
    `IDLE_TIMEOUT_SECONDS must be 0 or at least 75 (2.5 times the clients' 30 s heartbeat), got "30"`,
  );
  assertThrows(
    () => parseConfig({ IDLE_TIMEOUT_SECONDS: "200", HEARTBEAT_TIMEOUT_SECONDS: "300" }),
    ConfigError,
    `at least 250 (2.5 times the clients' 100 s heartbeat), got "200"`,
  );
});

Deno.test("config: webhooks need exact origins and a long enough secret", () => {
  const secret = { WEBHOOK_SECRET: "w".repeat(32) };
  for (const origin of ["https://hooks.example.com/path", "*.example.com", "HTTPS://A.example"]) {
    assertThrows(
      () => parseConfig({ ...secret, WEBHOOK_ALLOWED_ORIGINS: origin }),
      ConfigError,
      `WEBHOOK_ALLOWED_ORIGINS entries must be origins like "https://hooks.example.com", got ${
        JSON.stringify(origin)
      }`,
    );
  }
  assertThrows(
    () => parseConfig({ WEBHOOK_ALLOWED_ORIGINS: "https://hooks.example.com" }),
    ConfigError,
    "WEBHOOK_ALLOWED_ORIGINS needs WEBHOOK_SECRET",
  );
  assertThrows(() => parseConfig({ WEBHOOK_SECRET: "short" }), ConfigError, "WEBHOOK_SECRET");
  assertThrows(() => parseConfig({ ESCALATION_SCAN_MS: "10" }), ConfigError, "ESCALATION_SCAN_MS");
  assertThrows(
    () => parseConfig({ WEBHOOK_MAX_ATTEMPTS: "0" }),
    ConfigError,
    "WEBHOOK_MAX_ATTEMPTS",
  );
});

Deno.test("config: SETTINGS names every variable the config reads", async () => {
  const source = await Deno.readTextFile(new URL("./config.ts", import.meta.url));
  const read = new Set(
    [...source.matchAll(/(?:(?:int|list)\(\s*"|env\.)([A-Z_]+)/g)].map((m) => m[1]!),
  );
  assertEquals([...read].sort(), [...SETTINGS].sort());
});

Deno.test("config: a variable that looks like a misspelt setting is named, with the setting", () => {
  assertEquals(
    misspeltSettings({
      TRUSTED_PROXY: "127.0.0.1",
      UPGRADE_PER_MINUTE: "5",
      KV_PTH: "x",
      ALLOWED_ORIGIN: "https://a.example",
      // Not settings, and nothing like one: the shell's, Deno's, other programs'.
      PATH: "/usr/bin",
      HOSTNAME: "h",
      DENO_DIR: "/tmp",
      LOGNAME: "root",
      PORT: "8080",
      TRUSTED_PROXIES: "127.0.0.1",
    }),
    [
      "TRUSTED_PROXY is not a setting (ignored): did you mean TRUSTED_PROXIES?",
      "UPGRADE_PER_MINUTE is not a setting (ignored): did you mean UPGRADES_PER_MINUTE?",
      "KV_PTH is not a setting (ignored): did you mean KV_PATH?",
      "ALLOWED_ORIGIN is not a setting (ignored): did you mean ALLOWED_ORIGINS?",
    ],
  );
});
