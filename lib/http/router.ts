/**
 * Dispatch over a route table: matching a path against the routes' OpenAPI path templates
 * (compiled once), then, in the one order every route shares, the API key, the method (405 with
 * an `Allow` derived from the route) and the operation. `HEAD` is answered wherever `GET` is, by
 * the `GET` operation (`Deno.serve` sends its headers without the body), except on routes whose
 * `GET` opens a stream. Pure logic: what a route does and how it is documented are the table's
 * (`routes.ts`).
 *
 * @module
 */
import { quote } from "../core/mod.ts";
import { HttpError } from "./errors.ts";
import { notFound } from "./request.ts";

/** The methods a route declares; `OPTIONS` comes from {@linkcode Route.cors}. */
export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** `Allow` lists methods in this order, whatever the order of a route's entries. */
const ALLOW_ORDER: readonly string[] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"];

/** One path of the API, with what each of its methods does (`H`: an operation). */
export interface Route<H> {
  /** The OpenAPI path template: literal segments and whole `{param}` segments. */
  readonly path: string;
  /** The API key is checked before anything else of the route. */
  readonly auth?: "apiKey";
  /** The route answers CORS preflights: `OPTIONS` is allowed and documented. */
  readonly cors?: true;
  /**
   * Its `GET` opens a stream (an event stream, a WebSocket): no `HEAD`, which would open one only
   * to drop it.
   */
  readonly stream?: true;
  readonly methods: Readonly<Partial<Record<Method, H>>>;
}

/** Whether `route` answers `HEAD`, with its `GET` operation. */
export function answersHead(route: Route<unknown>): boolean {
  return route.methods.GET !== undefined && route.stream !== true;
}

/** A route matched by a path, with the path's `{param}` segments as sent (unchecked). */
export interface Match<H> {
  readonly route: Route<H>;
  readonly params: Readonly<Record<string, string>>;
}

/** What answers a request: its route, params, and the operation (`undefined`: a preflight). */
export interface Resolved<H> extends Match<H> {
  readonly operation: H | undefined;
}

/** The API key check, as `ApiKeyAuth` does it: throws the 401 to answer. */
export interface KeyCheck {
  check(headers: Headers): Promise<void>;
}

interface Compiled<H> {
  readonly route: Route<H>;
  /** The template's segments, `undefined` where a param goes. */
  readonly segments: readonly (string | undefined)[];
  readonly names: readonly string[];
  /** Method to operation; `OPTIONS` of a `cors` route maps to `undefined` (the preflight). */
  readonly operations: ReadonlyMap<string, H | undefined>;
  readonly allow: string;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** The names of the `{param}` segments of a path template, in order. */
export function templateParams(path: string): string[] {
  return path.split("/").flatMap((segment) => /^\{(\w+)\}$/.exec(segment)?.[1] ?? []);
}

/**
 * The methods of `route` in `Allow` order, with `HEAD` where it {@linkcode answersHead} and
 * `OPTIONS` for a `cors` route.
 */
export function allowedMethods(route: Route<unknown>): string[] {
  const declared = Object.keys(route.methods);
  return ALLOW_ORDER.filter((m) =>
    declared.includes(m) || (m === "HEAD" && answersHead(route)) ||
    (m === "OPTIONS" && route.cors === true)
  );
}

/** The 405 for `method` on a route that allows `allow`. */
export function methodNotAllowed(method: string, allow: string): HttpError {
  return new HttpError(405, "method_not_allowed", `Method ${quote(method)} is not allowed`, {
    allow,
  });
}

/** A route table compiled for lookups: literal paths in a map, templates by segment count. */
export class Router<H> {
  readonly #literal = new Map<string, Compiled<H>>();
  readonly #templated = new Map<number, Compiled<H>[]>();
  readonly #byRoute = new Map<Route<H>, Compiled<H>>();
  /** First segments of the routes behind the API key: an unknown path there needs it too. */
  readonly #keyed = new Set<string>();

  /** Compiles `routes`; throws on a malformed or repeated template (a bug in the table). */
  constructor(routes: readonly Route<H>[]) {
    const seen = new Set<string>();
    for (const route of routes) {
      const compiled = compile(route);
      const shape = compiled.segments.map((s) => s ?? "{}").join("/");
      if (seen.has(shape)) throw new Error(`Route ${quote(route.path)} is declared twice`);
      seen.add(shape);
      this.#byRoute.set(route, compiled);
      if (compiled.names.length === 0) this.#literal.set(route.path, compiled);
      else {
        const bucket = this.#templated.get(compiled.segments.length) ?? [];
        this.#templated.set(compiled.segments.length, [...bucket, compiled]);
      }
      if (route.auth === "apiKey") this.#keyed.add(route.path.split("/")[1] ?? "");
    }
  }

  /** The route `path` (as sent) matches, a literal one first; `undefined` when none does. */
  match(path: string): Match<H> | undefined {
    const literal = this.#literal.get(path);
    if (literal) return { route: literal.route, params: NO_PARAMS };
    const parts = path.split("/");
    outer: for (const compiled of this.#templated.get(parts.length) ?? []) {
      const { segments, names } = compiled;
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i];
        if (segment !== undefined && segment !== parts[i]) continue outer;
      }
      const params: Record<string, string> = {};
      let n = 0;
      for (let i = 0; i < segments.length; i++) {
        if (segments[i] === undefined) params[names[n++]!] = parts[i]!;
      }
      return { route: compiled.route, params };
    }
    return undefined;
  }

  /**
   * What answers `req` on `path`, whose match is `found`, in the order every route shares: the
   * path (404; an unknown path where keyed routes live checks the key first, so it tells nothing
   * without it), the API key for an `auth` route, then the method (405 with `Allow`).
   */
  async resolve(
    req: Request,
    path: string,
    found: Match<H> | undefined,
    auth: KeyCheck | undefined,
  ): Promise<Resolved<H>> {
    if (found === undefined) {
      if (auth && this.#keyed.has(path.split("/")[1] ?? "")) await auth.check(req.headers);
      throw notFound(path);
    }
    const compiled = this.#byRoute.get(found.route);
    if (!compiled) throw new Error(`Route ${quote(found.route.path)} is not in this table`);
    if (auth && found.route.auth === "apiKey") await auth.check(req.headers);
    if (!compiled.operations.has(req.method)) throw methodNotAllowed(req.method, compiled.allow);
    return { ...found, operation: compiled.operations.get(req.method) };
  }
}

function compile<H>(route: Route<H>): Compiled<H> {
  if (!route.path.startsWith("/")) {
    throw new Error(`Route ${quote(route.path)} must start with "/"`);
  }
  const segments = route.path.split("/").map((segment) => {
    if (/^\{\w+\}$/.test(segment)) return undefined;
    if (/[{}]/.test(segment)) {
      throw new Error(`Route ${quote(route.path)} has a param that is not a whole segment`);
    }
    return segment;
  });
  const names = templateParams(route.path);
  if (new Set(names).size !== names.length) {
    throw new Error(`Route ${quote(route.path)} names a param twice`);
  }
  const operations = new Map<string, H | undefined>(Object.entries(route.methods));
  if (answersHead(route)) operations.set("HEAD", route.methods.GET);
  if (route.cors) operations.set("OPTIONS", undefined);
  if (operations.size === 0) throw new Error(`Route ${quote(route.path)} has no methods`);
  return { route, segments, names, operations, allow: allowedMethods(route).join(", ") };
}
