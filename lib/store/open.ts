/**
 * Opens the KV database the configuration names, and says which kind it is.
 *
 * @module
 */

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
