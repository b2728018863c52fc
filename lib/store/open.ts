/**
 * Opens the KV database the configuration names, says which kind it is, and what that kind
 * asks of the store.
 *
 * @module
 */
import type { StoreOptions } from "./store.ts";

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
 * so what is watched is also read every 200 ms. A self-hosted denokv (0.14) refuses an atomic
 * operation with more than 10 checks, so commits to a KV Connect URL carry at most that many.
 */
export function storeOptionsFor(
  path: string | undefined,
): Pick<StoreOptions, "log" | "pollMs" | "maxChecks"> {
  const kind = storeKind(path);
  if (kind === "memory") return { log: "memory" };
  if (kind === "sqlite") return { pollMs: 200 };
  return kind === "kv-connect" ? { maxChecks: KV_CONNECT_MAX_CHECKS } : {};
}

/** Checks per atomic operation a self-hosted denokv takes. */
export const KV_CONNECT_MAX_CHECKS = 10;

/**
 * Opens the store at `path`, creating the folder of a SQLite file first. A KV Connect URL is
 * opened as is; its access token comes from `DENO_KV_ACCESS_TOKEN`.
 */
export async function openStore(path: string | undefined): Promise<Deno.Kv> {
  if (storeKind(path) === "sqlite" && path !== undefined) {
    const folder = path.replace(/[^/]*$/, "");
    if (folder) await Deno.mkdir(folder, { recursive: true });
  }
  return await Deno.openKv(path);
}

/** What to log about the store: never the query string or credentials of a URL. */
export function describeStore(path: string | undefined): Record<string, string> {
  const kind = storeKind(path);
  if (kind === "kv-connect" && path !== undefined) {
    const url = new URL(path);
    return { kind, url: `${url.protocol}//${url.host}${url.pathname}` };
  }
  return kind === "sqlite" && path !== undefined ? { kind, path } : { kind };
}
