/**
 * Opens the KV database the configuration names, says which kind it is, and what that kind
 * asks of the store.
 *
 * @module
 */
import type { Retention } from "./alarm_log.ts";
import type { CommitLimits } from "./appender.ts";
import type { KvLike } from "./call_timeout.ts";
import { isBusy } from "./guard.ts";
import { AlarmStore, type StoreOptions } from "./store.ts";

/** Which kind of store `KV_PATH` selects. */
export type StoreKind = "memory" | "sqlite" | "kv-connect" | "default";

/** Classifies a `KV_PATH` value. */
export function storeKind(path: string | undefined): StoreKind {
  if (path === undefined) return "default";
  if (path === ":memory:") return "memory";
  if (/^https?:\/\//i.test(path)) return "kv-connect";
  return "sqlite";
}

/**
 * The store options the kind of `path` calls for. An in-memory KV database is private to its
 * isolate and gone on restart anyway, so its log may as well be plain memory. A SQLite file's
 * watches hear only the writes of their own process, and several processes may share the file,
 * so what is watched is also read every 200 ms. Commits to a KV Connect URL stay small (see
 * {@linkcode KV_CONNECT_COMMITS}).
 */
export function storeOptionsFor(
  path: string | undefined,
): Pick<StoreOptions, "log" | "pollMs" | "commits"> {
  const kind = storeKind(path);
  if (kind === "memory") return { log: "memory" };
  if (kind === "sqlite") return { pollMs: 200 };
  return kind === "kv-connect" ? { commits: KV_CONNECT_COMMITS } : {};
}

/**
 * Why a SQLite store at `path` can't be opened by this process, told before opening it, or
 * `undefined`: a permission it lacks (named with `KV_PATH`, rather than Deno's "run again with
 * --allow-write", which a `deno task` user can't do), or a folder where the file should be.
 */
export function storePathProblem(path: string | undefined): string | undefined {
  if (storeKind(path) !== "sqlite" || path === undefined) return undefined;
  const folder = path.replace(/[^/]*$/, "") || ".";
  // Every missing permission at once: one restart, not one per flag.
  const missing = (["read", "write"] as const).filter((name) =>
    Deno.permissions.querySync({ name, path }).state !== "granted"
  );
  if (missing.length > 0) {
    return `KV_PATH ${JSON.stringify(path)} is outside the folders this command may use: ` +
      "`deno task start` keeps the store under data/; elsewhere run main.ts with " +
      `${missing.map((name) => `--allow-${name}=${folder}`).join(" ")} (the production ` +
      `command in docs/security.md, "Recommended production settings")`;
  }
  try {
    if (!Deno.statSync(path).isDirectory) return undefined;
    const file = JSON.stringify(`${path.replace(/\/+$/, "")}/kv.sqlite3`);
    return `KV_PATH ${JSON.stringify(path)} is a folder: name the store's file in it, e.g. ${file}`;
  } catch {
    return undefined; // not there yet: opening creates it
  }
}

/**
 * What one commit carries over KV Connect. Deno's KV Connect client leaves Nagle's algorithm on
 * (`TCP_NODELAY` off), so a request it writes in more than one piece (past 1 KiB) waits for the
 * server's delayed ACK while a smaller one goes at once (measured in docs/performance.md, "The
 * durable path"): two alarms of at most 1,300 bytes together (as `PreparedAlarm.bytes` counts
 * them, three per character) stay in one piece; a larger alarm still goes, alone, and waits. A
 * self-hosted denokv (0.14) refuses more than 10 checks. Small commits then go several at once
 * (each its own request on the one connection), on ids no other commit in flight has.
 */
export const KV_CONNECT_COMMITS: CommitLimits = {
  maxChecks: 10,
  maxAlarms: 2,
  maxBytes: 1300,
  maxInFlight: 8,
};

/** Attempts at opening a SQLite file another process holds; each waits SQLite's 5 s first. */
const OPEN_ATTEMPTS = 6;

/**
 * Whether `error` from opening the store is KV Connect refusing its credentials (401, 403): a
 * wrong `DENO_KV_ACCESS_TOKEN` or URL, a setting to fix rather than a fault a restart cures.
 */
export function isAccessRefused(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  // The status as KV Connect's client words it: a URL holds no space, so "…/401" is no match.
  return /\b(401 Unauthorized|403 Forbidden)\b/i.test(message);
}

/**
 * Opens the store at `path`, creating the folder of a SQLite file first. A KV Connect URL is
 * opened as is; its access token comes from `DENO_KV_ACCESS_TOKEN`. A SQLite file another
 * process holds locked (two starting at once on a new file) is waited for, about 30 s in all,
 * calling `onLocked` before each new attempt.
 */
export async function openStore(
  path: string | undefined,
  onLocked: () => void = () => {},
): Promise<Deno.Kv> {
  if (storeKind(path) === "sqlite" && path !== undefined) {
    const folder = path.replace(/[^/]*$/, "");
    if (folder) await Deno.mkdir(folder, { recursive: true });
  }
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.openKv(path);
    } catch (error) {
      if (attempt >= OPEN_ATTEMPTS || !isBusy(error)) throw error;
      onLocked();
    }
  }
}

/** What {@linkcode buildStore} builds a store from. */
export interface StoreSpec extends StoreOptions {
  /** `KV_PATH`: a SQLite file, `:memory:`, a KV Connect URL, or nothing (Deno's default). */
  path?: string | undefined;
  /** A database already open (tests: shared or fault-injecting); `path` then only says its kind. */
  kv?: KvLike;
  /** How much of each id's log is kept. */
  retention: Retention;
  /** Called before each new attempt at a SQLite file another process holds. */
  onLocked?: () => void;
}

/**
 * The one place a store is built, for `main.ts`, tests and benchmarks: opens the database `path`
 * names (unless `kv` is given) with the options its kind calls for, which `spec` may override.
 * Closing the store closes the database.
 */
export async function buildStore(spec: StoreSpec): Promise<AlarmStore> {
  const { path, kv, retention, onLocked, ...options } = spec;
  const database = kv ?? await openStore(path, onLocked);
  return new AlarmStore(database, retention, { ...storeOptionsFor(path), ...options });
}

/** What to log about the store: never the query string or credentials of a URL. */
export function describeStore(path: string | undefined): Record<string, string> {
  const kind = storeKind(path);
  if (kind === "kv-connect" && path !== undefined) return { kind, url: redactUrls(path) };
  return kind === "sqlite" && path !== undefined ? { kind, path } : { kind };
}

/**
 * `text` (an error's message, which Deno writes with the URL it could not open) with every
 * http(s) URL cut to its scheme, host and path: no credentials, query or fragment.
 */
export function redactUrls(text: string): string {
  return text.replace(/https?:\/\/[^\s'"`]+/gi, (found) => {
    const url = URL.parse(found);
    return url ? `${url.protocol}//${url.host}${url.pathname}` : "<URL>";
  });
}
