/**
 * The console's files (HTML, CSS, JS) and the client library, served from `lib/web/` with their
 * content types, an ETag (revalidated on every load, so a deploy is picked up at once), and a
 * strict Content-Security-Policy on the page.
 *
 * @module
 */

/** A file served as is: where it is, how it is typed, and how `/openapi.json` names it. */
export interface Asset {
  /** The URL path it is served at (a route of its own). */
  readonly path: string;
  readonly file: URL;
  /** Its `Content-Type`. */
  readonly type: string;
  readonly operationId: string;
  readonly summary: string;
  /** Public code: pages on any origin may load it. */
  readonly public?: true;
}

const TEXT_JS = "text/javascript; charset=utf-8";

/** Every static file: the one list the routes and their documentation come from. */
export const ASSETS: readonly Asset[] = [
  {
    path: "/",
    file: new URL("../web/index.html", import.meta.url),
    type: "text/html; charset=utf-8",
    operationId: "console",
    summary: "The alarm console page",
  },
  {
    path: "/console.css",
    file: new URL("../web/console.css", import.meta.url),
    type: "text/css; charset=utf-8",
    operationId: "consoleCss",
    summary: "The console's CSS",
  },
  {
    path: "/console.js",
    file: new URL("../web/console.js", import.meta.url),
    type: TEXT_JS,
    operationId: "consoleJs",
    summary: "The console's script",
  },
  // The modules console.js imports (lib/web/README.md says what each is for).
  ...["conditions", "flood", "i18n", "view"].map((name): Asset => ({
    path: `/${name}.js`,
    file: new URL(`../web/${name}.js`, import.meta.url),
    type: TEXT_JS,
    operationId: `console${name[0]!.toUpperCase()}${name.slice(1)}Js`,
    summary: `A module of the console's script: ${name}.js`,
  })),
  {
    path: "/client.js",
    file: new URL("../web/client.js", import.meta.url),
    type: TEXT_JS,
    operationId: "clientJs",
    summary: "The client library (an ES module)",
    public: true,
  },
  // The stable URL of this major version of the client, for pages on other origins.
  {
    path: "/v1/client.js",
    file: new URL("../web/client.js", import.meta.url),
    type: TEXT_JS,
    operationId: "clientJsV1",
    summary: "The client library at the stable URL of its major version",
    public: true,
  },
];

// The client library is public code: pages on any origin may import it as a module.
const CLIENT_HEADERS = {
  "access-control-allow-origin": "*",
  "cross-origin-resource-policy": "cross-origin",
};

// The page talks only to its own origin; nothing inline, nothing framed.
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  // Tokens may sit in the console's URL: never send it elsewhere.
  "referrer-policy": "no-referrer",
};

/** Serves static assets, reading each file once. */
export class StaticFiles {
  readonly #cache = new Map<string, Promise<{ body: string; etag: string }>>();

  /** Answers `GET` of `asset` (with `If-None-Match` support). */
  async serve(req: Request, asset: Asset): Promise<Response> {
    const { path } = asset;
    let loaded = this.#cache.get(path);
    if (!loaded) this.#cache.set(path, loaded = load(asset.file));
    const { body, etag } = await loaded;
    const headers = {
      "content-type": asset.type,
      "cache-control": "no-cache",
      etag,
      "x-content-type-options": "nosniff",
      ...(path === "/" ? PAGE_HEADERS : asset.public ? CLIENT_HEADERS : {}),
    };
    if (matchesEtag(req.headers.get("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(body, { headers });
  }
}

async function load(file: URL): Promise<{ body: string; etag: string }> {
  const body = await Deno.readTextFile(file);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)),
  );
  const etag = `"${digest.subarray(0, 12).toHex()}"`;
  return { body, etag };
}

/**
 * Whether an `If-None-Match` list names `etag`, compared weakly: Deno marks the ETag weak
 * (`W/"…"`) when it compresses a response, and a client sends back what it got.
 */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => {
    const value = tag.trim();
    return value === "*" || value.replace(/^W\//, "") === etag;
  });
}
