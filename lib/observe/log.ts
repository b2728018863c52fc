// deno-lint-ignore-file no-console
/**
 * Structured logging: one JSON object per line. The only module allowed to write to the console.
 *
 * @module
 */

/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Fields of a log record; values must be JSON-serializable. Never pass credentials or bodies. */
export type LogFields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  /** Writes one record at `level`. */
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Formats one record as a single line. `JSON.stringify` escapes control characters but leaves
 * U+2028 and U+2029 raw, which some log shippers treat as line breaks, so they are escaped too.
 */
export function formatRecord(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const line = JSON.stringify({ time: time.toISOString(), level, msg, ...fields });
  return line.replace(/[\u2028\u2029]/g, (c) => c === "\u2028" ? "\\u2028" : "\\u2029");
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Records below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default: stdout for info and below, stderr for warn and error. */
  write?: (line: string, level: LogLevel) => void;
  /** Clock for timestamps. */
  now?: () => number;
}

/** Creates a logger that writes JSON lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const write = options.write ?? writeConsole;
  const now = options.now ?? Date.now;
  return {
    log(level, msg, fields = {}) {
      if (LEVELS[level] < min) return;
      write(formatRecord(new Date(now()), level, msg, fields), level);
    },
  };
}

/** A logger that drops everything, for tests that don't look at logs. */
export const SILENT_LOGGER: Logger = { log() {} };

function writeConsole(line: string, level: LogLevel): void {
  if (LEVELS[level] >= LEVELS.warn) console.error(line);
  else console.log(line);
}
