/**
 * Configuration from environment variables, validated all at once so a misconfigured server
 * stops at start with every problem listed, instead of failing later on a request.
 *
 * @module
 */
import {
  DEFAULT_MAX_CONDITIONS,
  idleTimeoutFor,
  ipAddress,
  longestHeartbeatMs,
} from "./core/mod.ts";
import { createLogger, type LogLevel } from "./observe/mod.ts";

/** Default heartbeat timeout: three of the old page's 30 s `PING`s missed. */
const HEARTBEAT_TIMEOUT_MS = 90_000;

/** The validated service configuration. */
export interface Config {
  /** TCP port to listen on (`PORT`). */
  port: number;
  /** Bind address (`HOST`). */
  host: string;
  /** Bearer key for `/api/` routes (`ALARM_API_KEY`); `undefined` leaves the API open. */
  apiKey: string | undefined;
  /**
   * Seconds before Deno closes a socket that doesn't answer protocol pings (`IDLE_TIMEOUT_SECONDS`);
   * 0 or at least 2.5 heartbeat intervals, so clients that heartbeat are never pinged.
   */
  idleTimeoutSeconds: number;
  /** Milliseconds without any inbound frame before the registry closes a session (`HEARTBEAT_TIMEOUT_SECONDS`). */
  heartbeatTimeoutMs: number;
  /** Largest inbound WebSocket message in bytes (`MAX_MESSAGE_BYTES`). */
  maxMessageBytes: number;
  /** Largest POST body in bytes (`MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** `bufferedAmount` above which a socket is closed as a slow consumer (`SLOW_CONSUMER_BYTES`). */
  slowConsumerBytes: number;
  /** Minimum log level (`LOG_LEVEL`). */
  logLevel: LogLevel;
  /**
   * Where the KV store is (`KV_PATH`): a file, `:memory:`, a KV Connect URL, or `undefined` for
   * `Deno.openKv()`'s default (the managed KV on Deno Deploy).
   */
  kvPath: string | undefined;
  /** Milliseconds a store call may take before it fails with 503 (`STORE_TIMEOUT_SECONDS`). */
  storeTimeoutMs: number;
  /** Alarms kept per id (`RETENTION_COUNT`). */
  retentionCount: number;
  /** Milliseconds an alarm is kept at least (`RETENTION_SECONDS`). */
  retentionMs: number;
  /**
   * `listen`: `main.ts` calls `Deno.serve` on `HOST:PORT` (`deno run`, Deno Deploy). `export`:
   * it only default-exports `{ fetch }`, for `deno serve` (`SERVE_MODE`).
   */
  serveMode: "listen" | "export";
  /**
   * Listen with `SO_REUSEPORT` (`REUSE_PORT=1`, Linux): several processes on one host share
   * `HOST:PORT`, the kernel spreading connections over them.
   */
  reusePort: boolean;
  /** Secrets for connection tokens, current first (`WS_TOKEN_SECRET`, `WS_TOKEN_SECRET_PREVIOUS`); empty: no tokens. */
  tokenSecrets: string[];
  /** Exact origins allowed to open sockets (`ALLOWED_ORIGINS`); empty: any. */
  allowedOrigins: string[];
  /**
   * Host names requests may be sent to besides IP addresses and `localhost` (`ALLOWED_HOSTS`),
   * with a port or for any; empty: any host (no check).
   */
  allowedHosts: string[];
  /**
   * Addresses of reverse proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`);
   * empty: the connection's own address is the client's.
   */
  trustedProxies: string[];
  /** Messages per second a socket may send, sustained (`MESSAGE_RATE`). */
  messageRate: number;
  /** Messages a socket may send in a burst (`MESSAGE_BURST`). */
  messageBurst: number;
  /** Upgrades per client address per minute (`UPGRADES_PER_MINUTE`); 0: no limit. */
  upgradesPerMinute: number;
  /** Sessions per id on one isolate (`MAX_SESSIONS_PER_ID`). */
  maxSessionsPerId: number;
  /** Sessions from one client address on one isolate (`MAX_SESSIONS_PER_ADDRESS`). */
  maxSessionsPerAddress: number;
  /** Sessions on one isolate (`MAX_SESSIONS`). */
  maxSessions: number;
  /** Exact origins escalation webhooks may be sent to (`WEBHOOK_ALLOWED_ORIGINS`); empty: none. */
  webhookAllowedOrigins: string[];
  /** HMAC-SHA256 key webhooks are signed with (`WEBHOOK_SECRET`). */
  webhookSecret: string | undefined;
  /** Milliseconds a webhook attempt may take (`WEBHOOK_TIMEOUT_SECONDS`). */
  webhookTimeoutMs: number;
  /** Attempts per escalation webhook (`WEBHOOK_MAX_ATTEMPTS`). */
  webhookMaxAttempts: number;
  /** Milliseconds before the first webhook retry, doubled each time (`WEBHOOK_BACKOFF_MS`). */
  webhookBackoffMs: number;
  /** Longest wait between webhook attempts (`WEBHOOK_MAX_BACKOFF_SECONDS`). */
  webhookMaxBackoffMs: number;
  /** Longest pause between two reads of the due escalations (`ESCALATION_SCAN_MS`). */
  escalationScanMs: number;
  /** Longest an operator may shelve a condition for, in seconds (`MAX_SHELVE_SECONDS`). */
  maxShelveSeconds: number;
  /** Conditions an id's active list may hold (`MAX_CONDITIONS`). */
  maxConditions: number;
}

/** Every environment variable the configuration reads. */
export const SETTINGS: readonly string[] = [
  "ALARM_API_KEY",
  "ALLOWED_HOSTS",
  "ALLOWED_ORIGINS",
  "DENO_DEPLOY",
  "DENO_KV_ACCESS_TOKEN",
  "ESCALATION_SCAN_MS",
  "HEARTBEAT_TIMEOUT_SECONDS",
  "HOST",
  "IDLE_TIMEOUT_SECONDS",
  "KV_PATH",
  "LOG_LEVEL",
  "MAX_BODY_BYTES",
  "MAX_CONDITIONS",
  "MAX_MESSAGE_BYTES",
  "MAX_SESSIONS",
  "MAX_SESSIONS_PER_ADDRESS",
  "MAX_SESSIONS_PER_ID",
  "MAX_SHELVE_SECONDS",
  "MESSAGE_BURST",
  "MESSAGE_RATE",
  "PORT",
  "REQUIRE_AUTH",
  "RETENTION_COUNT",
  "RETENTION_SECONDS",
  "REUSE_PORT",
  "SERVE_MODE",
  "SLOW_CONSUMER_BYTES",
  "STORE_TIMEOUT_SECONDS",
  "TRUSTED_PROXIES",
  "UPGRADES_PER_MINUTE",
  "WEBHOOK_ALLOWED_ORIGINS",
  "WEBHOOK_BACKOFF_MS",
  "WEBHOOK_MAX_ATTEMPTS",
  "WEBHOOK_MAX_BACKOFF_SECONDS",
  "WEBHOOK_SECRET",
  "WEBHOOK_TIMEOUT_SECONDS",
  "WS_TOKEN_SECRET",
  "WS_TOKEN_SECRET_PREVIOUS",
];

/**
 * One line for each variable in `env` that looks like a misspelt setting (a plural for a
 * singular, one letter off): read by nobody, it would leave its setting at the default without
 * a word (`TRUSTED_PROXY` would count every client as the proxy).
 */
export function misspeltSettings(env: Readonly<Record<string, string | undefined>>): string[] {
  const lines: string[] = [];
  for (const name of Object.keys(env)) {
    if (SETTINGS.includes(name) || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    const meant = SETTINGS.find((setting) =>
      stem(setting) === stem(name) ||
      (name.length >= 6 && oneEditApart(name, setting) && env[setting] === undefined)
    );
    if (meant) lines.push(`${name} is not a setting (ignored): did you mean ${meant}?`);
  }
  return lines;
}

/** A name with each word's plural ending dropped (`PROXIES`, `PROXY`: `PROXY`). */
function stem(name: string): string {
  return name.split("_").map((word) => word.replace(/IES$/, "Y").replace(/S$/, "")).join("_");
}

/** Whether one letter changed, added, dropped or swapped with the next turns `a` into `b`. */
function oneEditApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1 || a === b) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    return a.slice(i + 1) === b.slice(i + 1) ||
      (a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2));
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** Thrown by {@linkcode parseConfig} with one line per invalid variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Documented defaults, also used by tests that build an app without an environment. */
export const DEFAULT_CONFIG: Readonly<Config> = {
  port: 8080,
  host: "0.0.0.0",
  apiKey: undefined,
  idleTimeoutSeconds: idleTimeoutFor(longestHeartbeatMs(HEARTBEAT_TIMEOUT_MS)),
  heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  maxMessageBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  slowConsumerBytes: 1024 * 1024,
  logLevel: "info",
  kvPath: "data/alarmcast.sqlite3",
  storeTimeoutMs: 5000,
  retentionCount: 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  serveMode: "listen",
  reusePort: false,
  tokenSecrets: [],
  allowedOrigins: [],
  allowedHosts: [],
  trustedProxies: [],
  messageRate: 20,
  messageBurst: 40,
  upgradesPerMinute: 120,
  maxSessionsPerId: 100,
  maxSessionsPerAddress: 1000,
  maxSessions: 100_000,
  webhookAllowedOrigins: [],
  webhookSecret: undefined,
  webhookTimeoutMs: 10_000,
  webhookMaxAttempts: 8,
  webhookBackoffMs: 1000,
  webhookMaxBackoffMs: 300_000,
  escalationScanMs: 1000,
  maxShelveSeconds: 8 * 3600,
  maxConditions: DEFAULT_MAX_CONDITIONS,
};

const MIB = 1024 * 1024;
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const MIN_API_KEY_LENGTH = 16;
/**
 * What is wrong with `KV_PATH`, if anything: a URL must be a KV Connect server's (`http(s)://`,
 * as Deno opens it, with `DENO_KV_ACCESS_TOKEN`); a path starting with a colon can only be a
 * misspelt `:memory:`.
 */
function kvPathProblem(path: string | undefined, token: string | undefined): string | undefined {
  if (!path) return undefined;
  const got = JSON.stringify(path);
  // Typos that would otherwise open a SQLite file of that name and serve from it.
  if (path.trim() !== path) return `KV_PATH must not start or end with white space, got ${got}`;
  if ((/^https?[:;/\\]/i.test(path) || path.startsWith("//")) && !/^https?:\/\//i.test(path)) {
    return `KV_PATH looks like a misspelt URL (write "http://…" or "https://…"), got ${got}`;
  }
  // What denokv's own `--addr` looks like: a server, not a file name.
  if (/^[A-Za-z0-9.-]+:\d{1,5}$/.test(path)) {
    return `KV_PATH looks like a host and port: name a KV Connect server by its URL ` +
      `(${JSON.stringify(`http://${path}`)}), got ${got}`;
  }
  if (/^:?memory:?$/i.test(path) && path !== ":memory:") {
    return `KV_PATH must be ":memory:" for a store in memory, got ${got}`;
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path)) {
    if (!/^https?:\/\//.test(path) || !URL.parse(path)?.hostname) {
      return `KV_PATH must be a file, ":memory:" or a KV Connect URL like "https://kv.example.com", got ${got}`;
    }
    if (!token?.trim()) return "KV_PATH is a KV Connect URL: it needs DENO_KV_ACCESS_TOKEN";
  } else if (path.startsWith(":") && path !== ":memory:") {
    return `KV_PATH must be a file, ":memory:" or a KV Connect URL, got ${got}`;
  }
  return undefined;
}
const MIN_TOKEN_SECRET_LENGTH = 32;
// A scheme and a host (browsers send other schemes too: chrome-extension://…), or "null"; no
// wildcard (entries are exact).
const ORIGIN = /^(?:null|[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@*]+)$/;
/** A host name as a `Host` header carries it, lower case, with an optional port. */
const HOST_NAME =
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[1-9]\d{0,4})?$/;

// An origin as `new URL(…).origin` writes it (checked against that too): lower case, no path.
const WEBHOOK_ORIGIN = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/;

/**
 * The configuration from `env`, for a command's start: on a problem, logs every one in one line
 * and exits with 78 (EX_CONFIG), which supervisors read as "don't restart, fix the settings".
 */
export function configOrExit(env: Readonly<Record<string, string | undefined>>): Config {
  try {
    return parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger().log("error", error.message);
    Deno.exit(78);
  }
}

/** Reads the configuration from `env`; throws {@linkcode ConfigError} listing every problem. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  function int(name: string, fallback: number, min: number, max: number): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }
  // A comma-separated list; set to nothing but commas it would allow everything while looking
  // restrictive, so that is a problem, naming what it should list.
  function list(name: string, what: string): string[] {
    const entries = (env[name] ?? "").split(",").map((e) => e.trim()).filter((e) => e);
    if (env[name] && entries.length === 0) {
      problems.push(
        `${name} lists no ${what} (unset it to allow any), got ${JSON.stringify(env[name])}`,
      );
    }
    return entries;
  }

  const heartbeatTimeoutMs =
    int("HEARTBEAT_TIMEOUT_SECONDS", DEFAULT_CONFIG.heartbeatTimeoutMs / 1000, 5, 86_400) * 1000;
  // Deno's protocol ping must never reach a client that heartbeats (lib/core/heartbeat.ts).
  const longest = longestHeartbeatMs(heartbeatTimeoutMs);
  const minIdle = idleTimeoutFor(longest);
  const config: Config = {
    port: int("PORT", DEFAULT_CONFIG.port, 0, 65535),
    host: env.HOST || DEFAULT_CONFIG.host,
    apiKey: env.ALARM_API_KEY || undefined,
    heartbeatTimeoutMs,
    idleTimeoutSeconds: int("IDLE_TIMEOUT_SECONDS", minIdle, 0, 3600),
    maxMessageBytes: int("MAX_MESSAGE_BYTES", DEFAULT_CONFIG.maxMessageBytes, 256, 16 * MIB),
    // 64 KiB at most: an alarm is stored in at most two KV values.
    maxBodyBytes: int("MAX_BODY_BYTES", DEFAULT_CONFIG.maxBodyBytes, 1024, 64 * 1024),
    slowConsumerBytes: int(
      "SLOW_CONSUMER_BYTES",
      DEFAULT_CONFIG.slowConsumerBytes,
      1024,
      1024 * MIB,
    ),
    logLevel: DEFAULT_CONFIG.logLevel,
    // On Deno Deploy the default is the app's managed KV database.
    kvPath: env.KV_PATH || (env.DENO_DEPLOY ? undefined : DEFAULT_CONFIG.kvPath),
    storeTimeoutMs: int("STORE_TIMEOUT_SECONDS", DEFAULT_CONFIG.storeTimeoutMs / 1000, 1, 60) *
      1000,
    retentionCount: int("RETENTION_COUNT", DEFAULT_CONFIG.retentionCount, 1, 100_000),
    retentionMs: int("RETENTION_SECONDS", DEFAULT_CONFIG.retentionMs / 1000, 60, 365 * 86_400) *
      1000,
    serveMode: DEFAULT_CONFIG.serveMode,
    reusePort: env.REUSE_PORT === "1",
    tokenSecrets: [env.WS_TOKEN_SECRET, env.WS_TOKEN_SECRET_PREVIOUS].filter((s) => !!s).map(
      String,
    ),
    allowedOrigins: list("ALLOWED_ORIGINS", "origin"),
    allowedHosts: list("ALLOWED_HOSTS", "host").map((h) => h.toLowerCase()),
    trustedProxies: (env.TRUSTED_PROXIES ?? "").split(",").map((a) => a.trim()).filter((a) => a),
    messageRate: int("MESSAGE_RATE", DEFAULT_CONFIG.messageRate, 1, 10_000),
    messageBurst: int("MESSAGE_BURST", DEFAULT_CONFIG.messageBurst, 1, 100_000),
    upgradesPerMinute: int("UPGRADES_PER_MINUTE", DEFAULT_CONFIG.upgradesPerMinute, 0, 1_000_000),
    maxSessionsPerId: int("MAX_SESSIONS_PER_ID", DEFAULT_CONFIG.maxSessionsPerId, 1, 1_000_000),
    maxSessionsPerAddress: int(
      "MAX_SESSIONS_PER_ADDRESS",
      DEFAULT_CONFIG.maxSessionsPerAddress,
      1,
      10_000_000,
    ),
    maxSessions: int("MAX_SESSIONS", DEFAULT_CONFIG.maxSessions, 1, 10_000_000),
    webhookAllowedOrigins: (env.WEBHOOK_ALLOWED_ORIGINS ?? "").split(",").map((o) => o.trim())
      .filter((o) => o),
    webhookSecret: env.WEBHOOK_SECRET || undefined,
    webhookTimeoutMs:
      int("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_CONFIG.webhookTimeoutMs / 1000, 1, 60) * 1000,
    webhookMaxAttempts: int("WEBHOOK_MAX_ATTEMPTS", DEFAULT_CONFIG.webhookMaxAttempts, 1, 50),
    webhookBackoffMs: int("WEBHOOK_BACKOFF_MS", DEFAULT_CONFIG.webhookBackoffMs, 10, 3_600_000),
    webhookMaxBackoffMs: int(
      "WEBHOOK_MAX_BACKOFF_SECONDS",
      DEFAULT_CONFIG.webhookMaxBackoffMs / 1000,
      1,
      86_400,
    ) * 1000,
    escalationScanMs: int("ESCALATION_SCAN_MS", DEFAULT_CONFIG.escalationScanMs, 50, 60_000),
    maxShelveSeconds: int("MAX_SHELVE_SECONDS", DEFAULT_CONFIG.maxShelveSeconds, 60, 30 * 86_400),
    maxConditions: int("MAX_CONDITIONS", DEFAULT_CONFIG.maxConditions, 1, 1_000_000),
  };

  if (config.idleTimeoutSeconds !== 0 && config.idleTimeoutSeconds < minIdle) {
    problems.push(
      `IDLE_TIMEOUT_SECONDS must be 0 or at least ${minIdle} (2.5 times the clients' ${
        longest / 1000
      } s heartbeat), got ${JSON.stringify(env.IDLE_TIMEOUT_SECONDS)}`,
    );
  }
  if (/[\s/]/.test(config.host)) {
    problems.push(`HOST must be an address or host name, got ${JSON.stringify(config.host)}`);
  }
  if (config.apiKey !== undefined && config.apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push(`ALARM_API_KEY must be at least ${MIN_API_KEY_LENGTH} characters`);
  }
  // HTTP drops the whitespace around a header's value: no request could carry such a key.
  if (config.apiKey !== undefined && config.apiKey.trim() !== config.apiKey) {
    problems.push("ALARM_API_KEY must not start or end with whitespace");
  }
  config.trustedProxies = config.trustedProxies.map((entry) => {
    const address = ipAddress(entry);
    if (address === undefined) {
      problems.push(
        `TRUSTED_PROXIES entries must be IP addresses like "127.0.0.1" (no ranges), got ${
          JSON.stringify(entry)
        }`,
      );
    }
    return address ?? entry;
  });
  const level = env.LOG_LEVEL;
  if (level) {
    const known = LOG_LEVELS.find((l) => l === level);
    if (known) config.logLevel = known;
    else {problems.push(
        `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
      );}
  }
  if (env.WS_TOKEN_SECRET_PREVIOUS && !env.WS_TOKEN_SECRET) {
    problems.push("WS_TOKEN_SECRET_PREVIOUS needs WS_TOKEN_SECRET");
  }
  for (const name of ["WS_TOKEN_SECRET", "WS_TOKEN_SECRET_PREVIOUS"] as const) {
    const secret = env[name];
    if (secret && secret.length < MIN_TOKEN_SECRET_LENGTH) {
      problems.push(`${name} must be at least ${MIN_TOKEN_SECRET_LENGTH} characters`);
    }
  }
  for (const host of config.allowedHosts) {
    const port = Number(host.split(":")[1] ?? "1");
    if (!HOST_NAME.test(host) || port > 65535) {
      problems.push(
        `ALLOWED_HOSTS entries must be host names like "alarms.example.com" or ` +
          `"alarms.example.com:8443" (no scheme, no path), got ${JSON.stringify(host)}`,
      );
    }
  }
  for (const origin of config.allowedOrigins) {
    if (!ORIGIN.test(origin)) {
      problems.push(
        `ALLOWED_ORIGINS entries must be origins like "https://ops.example.com", got ${
          JSON.stringify(origin)
        }`,
      );
      continue;
    }
    // Compared as browsers send them: an entry in another form would never match.
    const sent = /^https?:/i.test(origin) ? URL.parse(origin)?.origin : origin.toLowerCase();
    if (sent !== origin) {
      problems.push(
        `ALLOWED_ORIGINS entries must be written as browsers send them, got ${
          JSON.stringify(origin)
        } for ${JSON.stringify(sent)}`,
      );
    }
  }
  const kvProblem = kvPathProblem(env.KV_PATH, env.DENO_KV_ACCESS_TOKEN);
  if (kvProblem) problems.push(kvProblem);
  for (const origin of config.webhookAllowedOrigins) {
    if (!WEBHOOK_ORIGIN.test(origin) || new URL(origin).origin !== origin) {
      problems.push(
        `WEBHOOK_ALLOWED_ORIGINS entries must be origins like "https://hooks.example.com", got ${
          JSON.stringify(origin)
        }`,
      );
    }
  }
  if (config.webhookAllowedOrigins.length > 0 && config.webhookSecret === undefined) {
    problems.push("WEBHOOK_ALLOWED_ORIGINS needs WEBHOOK_SECRET");
  }
  if (config.webhookSecret !== undefined && config.webhookSecret.length < MIN_TOKEN_SECRET_LENGTH) {
    problems.push(`WEBHOOK_SECRET must be at least ${MIN_TOKEN_SECRET_LENGTH} characters`);
  }
  // Fail closed where exposure is the norm: Deno Deploy, or when asked to.
  const required = env.REQUIRE_AUTH ?? "";
  if (!["", "0", "1"].includes(required)) {
    problems.push(`REQUIRE_AUTH must be "0" or "1", got ${JSON.stringify(required)}`);
  }
  if (required === "1" || (env.DENO_DEPLOY && required !== "0")) {
    const why = required === "1" ? "with REQUIRE_AUTH=1" : "on Deno Deploy";
    if (!config.apiKey) problems.push(`ALARM_API_KEY is required ${why}`);
    if (config.tokenSecrets.length === 0) problems.push(`WS_TOKEN_SECRET is required ${why}`);
  }
  if (!["", "0", "1", undefined].includes(env.REUSE_PORT)) {
    problems.push(`REUSE_PORT must be "0" or "1", got ${JSON.stringify(env.REUSE_PORT)}`);
  }
  const mode = env.SERVE_MODE;
  if (mode === "export" || mode === "listen") config.serveMode = mode;
  else if (mode) {
    problems.push(`SERVE_MODE must be "listen" or "export", got ${JSON.stringify(mode)}`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  return config;
}
