/**
 * Configuration from environment variables, validated all at once so a misconfigured server
 * stops at start with every problem listed, instead of failing later on a request.
 *
 * @module
 */
import type { LogLevel } from "./log.ts";

/** The validated service configuration. */
export interface Config {
  /** TCP port to listen on (`PORT`). */
  port: number;
  /** Bind address (`HOST`). */
  host: string;
  /** Bearer key for `/api/` routes (`ALARM_API_KEY`); `undefined` leaves the API open. */
  apiKey: string | undefined;
  /** Seconds before Deno closes a socket that doesn't answer protocol pings (`IDLE_TIMEOUT_SECONDS`). */
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
  /** Alarms kept per id (`RETENTION_COUNT`). */
  retentionCount: number;
  /** Milliseconds an alarm is kept at least (`RETENTION_SECONDS`). */
  retentionMs: number;
  /**
   * `listen`: `main.ts` calls `Deno.serve` on `HOST:PORT` (`deno run`, Deno Deploy). `export`:
   * it only default-exports `{ fetch }`, for `deno serve` (`SERVE_MODE`).
   */
  serveMode: "listen" | "export";
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
  idleTimeoutSeconds: 30,
  heartbeatTimeoutMs: 90_000,
  maxMessageBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  slowConsumerBytes: 1024 * 1024,
  logLevel: "info",
  kvPath: "data/alarmcast.sqlite3",
  retentionCount: 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  serveMode: "listen",
};

const MIB = 1024 * 1024;
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const MIN_API_KEY_LENGTH = 16;

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

  const config: Config = {
    port: int("PORT", DEFAULT_CONFIG.port, 0, 65535),
    host: env.HOST || DEFAULT_CONFIG.host,
    apiKey: env.ALARM_API_KEY || undefined,
    idleTimeoutSeconds: int("IDLE_TIMEOUT_SECONDS", DEFAULT_CONFIG.idleTimeoutSeconds, 0, 3600),
    heartbeatTimeoutMs:
      int("HEARTBEAT_TIMEOUT_SECONDS", DEFAULT_CONFIG.heartbeatTimeoutMs / 1000, 5, 86_400) * 1000,
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
    retentionCount: int("RETENTION_COUNT", DEFAULT_CONFIG.retentionCount, 1, 100_000),
    retentionMs: int("RETENTION_SECONDS", DEFAULT_CONFIG.retentionMs / 1000, 60, 365 * 86_400) *
      1000,
    serveMode: DEFAULT_CONFIG.serveMode,
  };

  if (/[\s/]/.test(config.host)) {
    problems.push(`HOST must be an address or host name, got ${JSON.stringify(config.host)}`);
  }
  if (config.apiKey !== undefined && config.apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push(`ALARM_API_KEY must be at least ${MIN_API_KEY_LENGTH} characters`);
  }
  const level = env.LOG_LEVEL;
  if (level) {
    const known = LOG_LEVELS.find((l) => l === level);
    if (known) config.logLevel = known;
    else {problems.push(
        `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
      );}
  }
  const mode = env.SERVE_MODE;
  if (mode === "export" || mode === "listen") config.serveMode = mode;
  else if (mode) {
    problems.push(`SERVE_MODE must be "listen" or "export", got ${JSON.stringify(mode)}`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  return config;
}
