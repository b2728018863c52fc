/**
 * The HTTP API as an OpenAPI 3.1 document, served at `GET /openapi.json`: the frame, schemas,
 * parameters, patterns and shared responses, around the paths and operations that the route
 * table (`routes.ts`) declares beside its handlers. It is built from the
 * running configuration, so it lists only what this server can answer: the bearer scheme and
 * the 401s only with an API key, `201` or `501` on `/api/tokens` as tokens are on or off, the
 * origin refusal only with an allowlist. Limits come from the constants the checks use, so the
 * document cannot drift from them silently; `tests/openapi_test.ts` replays real requests
 * against it and `tests/fuzz_test.ts` fuzzes the server with it.
 *
 * @module
 */
import {
  ACTIONS,
  BLANK_PATTERN,
  CONDITION_STATES,
  FLOOD_ALARMS,
  FLOOD_WINDOW_MS,
  MAX_ALARM_BYTES,
  MAX_BY_LENGTH,
  MAX_COMMENT_LENGTH,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  MAX_KEY_LENGTH,
  MAX_POLICY_LIST,
  MAX_POLICY_SECONDS,
  MAX_REPEATS,
  MAX_TTL_SECONDS,
  PROTOCOL_SSE,
  PROTOCOL_V1,
  quote,
  RESERVED_ACTOR_PATTERN,
  VERSION,
} from "../core/mod.ts";
import type { Config } from "../config.ts";
import { UNACKNOWLEDGED_SAMPLE } from "../realtime/mod.ts";
import { MAX_IDEMPOTENCY_KEY, MAX_TARGETS } from "./publish.ts";
import { MAX_HISTORY } from "./request.ts";
import { answersHead, type Route, templateParams } from "./router.ts";

/** A JSON value as the document holds it. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A JSON object as the document holds it. */
export type JsonMap = { [key: string]: Json };

// The patterns are ECMA-262 and Python `re` alike (schemathesis reads them with Python): no
// `\d` (Unicode digits in Python), no lookbehind, no flags.
const ID_PATTERN = `^[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}$`;
const ID_PATTERN_OR_PREFIX = `^(?:\\*|[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}\\*?)$`;
// What `isValidCreateTime` accepts: its ISO-8601 shape narrowed to what `Date.parse` reads
// (24:00 only as midnight, offsets to 23:59), on days the month has (29 February in leap years).
const ISO_DATE_TIME = "^(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|" +
  "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|" +
  "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)[Tt ]" +
  "(?:(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?|24:00(?::00(?:\\.0{1,9})?)?)" +
  "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$";
// Control characters, refused in a publisher's alarm `id` (the same class as `core/alarm.ts`).
const NO_CONTROL_CHARS = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$";
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// What `trim()` strips from the items of a header list (in a Latin-1 header value).
const WS = "[ \\t\\u00a0]*";
/** A header list with an item equal to `word`, ignoring case (as `upgrade.ts` and Deno read it). */
export const listNaming = (word: string): string =>
  `^(?:[^,]*,)*${WS}${[...word].map((c) => `[${c.toUpperCase()}${c}]`).join("")}${WS}(?:,[^,]*)*$`;
/**
 * Subprotocols as `negotiate` takes them: a list separated by ", " naming `alarms.v1` (the only
 * separator Deno.upgradeWebSocket reads), or one of empty items; HTTP trims the ends.
 */
export const SUBPROTOCOLS = `^[ \\t]*(?:(?:.*, )?${PROTOCOL_V1.replaceAll(".", "\\.")}(?:, .*)?` +
  `|[ \\t\\u00a0,]*)[ \\t]*$`;

/** A reference to the schema `name`. */
export const ref = (name: string): JsonMap => ({ $ref: `#/components/schemas/${name}` });
/** An integer schema from `minimum` to `maximum`. */
export const int = (minimum: number, maximum = MAX_SAFE): JsonMap => ({
  type: "integer",
  minimum,
  maximum,
});

/** The error body with `code` narrowed to `codes`. */
export function errorBody(codes: readonly string[]): JsonMap {
  return {
    allOf: [ref("Error"), {
      type: "object",
      properties: { error: { type: "object", properties: { code: { enum: [...codes] } } } },
    }],
  };
}

interface ErrorOptions {
  /** Headers sent with every such answer (`Retry-After` on a 503, `Allow` on a 405). */
  always?: readonly string[];
  /** Headers sent with some of them. */
  sometimes?: readonly string[];
}

/** One documented error status: a description and the codes it can carry. */
export function errorResponse(
  description: string,
  codes: readonly string[],
  options: ErrorOptions = {},
): JsonMap {
  const headers: JsonMap = { "x-served-by": { $ref: "#/components/headers/ServedBy" } };
  for (const name of options.always ?? []) headers[name] = header(name, true);
  for (const name of options.sometimes ?? []) headers[name] = header(name, false);
  return { description, headers, content: { "application/json": { schema: errorBody(codes) } } };
}

const HEADER_SCHEMAS: Readonly<Record<string, JsonMap>> = {
  "Retry-After": { type: "string", pattern: "^[0-9]+$" },
  "WWW-Authenticate": { type: "string", const: 'Bearer realm="alarmcast"' },
  "Upgrade": { type: "string", const: "websocket" },
  "Sec-WebSocket-Version": { type: "string", const: "13" },
};

/** A documented response header (its schema from `HEADER_SCHEMAS`, else a string). */
export function header(name: string, required: boolean): JsonMap {
  const schema = HEADER_SCHEMAS[name] ?? { type: "string" };
  return { required, schema };
}

/** A stream cursor as `decodeCursor` reads it: `<id>=<seq>` entries joined by commas. */
export const CURSOR = `^[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}=(?:0|[1-9][0-9]{0,14})` +
  `(?:,[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}=(?:0|[1-9][0-9]{0,14}))*$`;

/** The query and header parameters every event stream takes besides its cursor. */
export function streamParams(tokens: boolean, origins: boolean): Json[] {
  return [
    {
      name: "token",
      in: "query",
      description: "A connection token covering every id of the stream" +
        (tokens ? "" : "; ignored, tokens are off"),
      schema: { type: "string" },
    },
    originParam(origins),
  ];
}

/** The `Origin` header of a socket or stream, as `Gate.checkOrigin` judges it. */
export function originParam(origins: boolean): Json {
  return {
    name: "Origin",
    in: "header",
    description: origins
      ? "Must be in `ALLOWED_ORIGINS`, or be this server reached by IP address or as localhost, when sent"
      : "Not checked: `ALLOWED_ORIGINS` is empty",
    schema: { type: "string" },
  };
}

/** What opening an event stream can answer. */
export function streamResponses(tokens: boolean, origins: boolean): JsonMap {
  return {
    "200": {
      description: "The stream: `retry:` advice, a `welcome` per id, then alarms as they come",
      headers: {
        "x-served-by": { $ref: "#/components/headers/ServedBy" },
        "Cache-Control": { required: true, schema: { const: "no-store" } },
        "X-Accel-Buffering": { required: true, schema: { const: "no" } },
        "Access-Control-Allow-Origin": header("Access-Control-Allow-Origin", false),
      },
      content: { "text/event-stream": { schema: { type: "string" } } },
    },
    "400": errorResponse("An invalid id, cursor or list of ids", [
      ...URL_CODES,
      "invalid_id",
      "invalid_cursor",
      "invalid_parameter",
    ]),
    ...admissionRefusals(tokens, origins),
  };
}

/** The 403 of a route that checks the origin and a connection token, when either is on. */
export function forbidden(tokens: boolean, origins: boolean): JsonMap {
  if (!tokens && !origins) return {};
  return {
    "403": errorResponse(
      "The `Origin` is not allowed, or the token does not cover the id (or one of them)",
      [...(origins ? ["origin_not_allowed"] : []), ...(tokens ? ["forbidden"] : [])],
    ),
  };
}

/**
 * How admission refuses a socket or a stream (`access.ts`): token, origin, rates and caps, and
 * shutdown.
 */
export function admissionRefusals(tokens: boolean, origins: boolean): JsonMap {
  return {
    ...(tokens
      ? {
        "401": errorResponse("No connection token, a bad one, an expired one, or two", [
          "token_required",
          "invalid_token",
          "token_expired",
          "two_tokens",
        ]),
      }
      : {}),
    ...forbidden(tokens, origins),
    "429": errorResponse(
      "Too many upgrades from this address (`UPGRADES_PER_MINUTE`), or too many sessions of " +
        "the id (`MAX_SESSIONS_PER_ID`) or from this address",
      ["too_many_upgrades", "too_many_sessions", "too_many_connections"],
      { sometimes: ["Retry-After"] },
    ),
    "503": errorResponse(
      "This isolate holds `MAX_SESSIONS` sessions, or is shutting down",
      ["server_full", "shutting_down"],
      { always: ["Retry-After"] },
    ),
  };
}

/** The CORS preflight of a route a console on another origin uses (`withId`: `{id}` checked). */
function preflight(origins: boolean, params: readonly string[]): JsonMap {
  const withId = params.includes("id");
  const withKey = params.includes("key");
  return {
    tags: ["events"],
    summary: "CORS preflight",
    responses: {
      "204": {
        description: "Allowed: the methods and headers a cross-origin request may use",
        headers: {
          "x-served-by": { $ref: "#/components/headers/ServedBy" },
          "Access-Control-Allow-Methods": { required: true, schema: { type: "string" } },
          "Access-Control-Allow-Headers": { required: true, schema: { type: "string" } },
          "Access-Control-Max-Age": { required: true, schema: { const: "600" } },
        },
      },
      ...(origins
        ? { "403": errorResponse("The `Origin` is not allowed", ["origin_not_allowed"]) }
        : {}),
      "400": errorResponse(
        "A malformed `Host` header or a non-canonical path" + (withId ? ", or an invalid id" : "") +
          (withKey ? " or key" : ""),
        [...URL_CODES, ...(withId ? ["invalid_id"] : []), ...(withKey ? ["invalid_key"] : [])],
      ),
    },
  };
}

/**
 * The body of a shelve: the action's fields, a reason, and how long (up to `maxSeconds`), or
 * until the condition clears (then at most that long).
 */
export function shelveRequest(maxSeconds: number): JsonMap {
  return {
    type: "object",
    additionalProperties: false,
    required: ["reason"],
    anyOf: [
      { required: ["durationSeconds"] },
      { required: ["untilCleared"], properties: { untilCleared: { const: true } } },
    ],
    properties: {
      by: { $ref: "#/components/schemas/ConditionAction/properties/by" },
      comment: { type: "string", minLength: 1, maxLength: MAX_COMMENT_LENGTH },
      reason: {
        type: "string",
        minLength: 1,
        maxLength: MAX_COMMENT_LENGTH,
        not: { pattern: BLANK_PATTERN },
        description: "Why: not blank (white space, control or format characters alone are refused)",
      },
      durationSeconds: { ...int(1, maxSeconds), description: "How long it lasts" },
      untilCleared: { type: "boolean", description: "It also ends when the condition clears" },
    },
  };
}

/** The body of `PUT /api/policies/{name}` (`core/policy.ts`), with webhooks to `origins` only. */
export function policyInput(origins: readonly string[]): JsonMap {
  const ids = { type: "array", maxItems: MAX_POLICY_LIST, items: ref("Id") };
  const escaped = origins.map((o) => o.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return {
    type: "object",
    required: ["match", "ackWithinSeconds"],
    additionalProperties: false,
    properties: {
      match: {
        type: "object",
        additionalProperties: false,
        properties: {
          ids,
          prefixes: { ...ids, items: { type: "string", pattern: ID_PATTERN } },
          levels: {
            type: "array",
            maxItems: MAX_POLICY_LIST,
            items: { type: "string", minLength: 1, maxLength: 64 },
          },
        },
        anyOf: [
          { required: ["ids"], properties: { ids: { minItems: 1 } } },
          { required: ["prefixes"], properties: { prefixes: { minItems: 1 } } },
        ],
      },
      ackWithinSeconds: int(1, MAX_POLICY_SECONDS),
      escalateTo: ids,
      ...(escaped.length > 0
        ? {
          webhook: {
            type: "string",
            maxLength: 2048,
            pattern: `^(?:${escaped.join("|")})(?:/[^@]*)?$`,
          },
        }
        : {}),
      repeat: {
        type: "object",
        required: ["everySeconds", "times"],
        additionalProperties: false,
        properties: { everySeconds: int(1, MAX_POLICY_SECONDS), times: int(1, MAX_REPEATS) },
      },
    },
    anyOf: [
      { required: ["escalateTo"], properties: { escalateTo: { minItems: 1 } } },
      ...(escaped.length > 0 ? [{ required: ["webhook"] }] : []),
    ],
  };
}

/** A successful JSON answer. */
export function jsonOk(description: string, schema: JsonMap): JsonMap {
  return {
    description,
    headers: { "x-served-by": { $ref: "#/components/headers/ServedBy" } },
    content: { "application/json": { schema } },
  };
}

/** The `{id}` of the history and sessions routes is an alarm's `target` (its `id`: the alarm's). */
export const TARGET_LINKS: JsonMap = {
  history: { operationId: "history", parameters: { id: "$response.body#/target" } },
  sessionsOf: { operationId: "sessionsOf", parameters: { id: "$response.body#/target" } },
};

/**
 * Every route reads the URL first: a malformed `Host` or a path a URL parser would rewrite
 * (dot segments, escaped dots, backslashes) is refused before routing.
 */
export const URL_CODES = ["invalid_host", "invalid_path"];
/** What reading a JSON body can refuse (`body.ts`). */
export const BODY_CODES = [
  "invalid_json",
  "json_too_deep",
  "json_too_many_keys",
  "json_inexact_number",
  "not_an_object",
];

/**
 * What operation docs draw on, for one configuration: what it turns on (API key, tokens,
 * origins, webhooks) and the shared pieces that depend on it.
 */
export interface DocContext {
  readonly config: Config;
  /** An API key is set: `/api/` routes take the bearer scheme and may answer 401. */
  readonly keyed: boolean;
  /** Connection tokens are on. */
  readonly tokens: boolean;
  /** An origin allowlist is set. */
  readonly origins: boolean;
  /** The origins a policy's webhook may name (none without a webhook secret). */
  readonly webhooks: readonly string[];
  /** The 400 of a route that only reads its URL. */
  readonly badUrl: JsonMap;
  /** `{"401": …}` with an API key, else nothing. */
  readonly unauthorized: JsonMap;
  /** `{"401": …}` of a route taking the API key or a connection token, when either is on. */
  readonly keyOrToken: JsonMap;
  /** The `security` and `?token=` of a route taking the API key or a connection token. */
  readonly byKeyOrToken: JsonMap;
  /** The 413 and 415 of a small JSON body (acks, condition actions). */
  readonly smallBody: JsonMap;
  /** The 503 of a store read or write. */
  readonly storeDown: JsonMap;
  /** The 503 of a publish. */
  readonly publishDown: JsonMap;
  /** The 409 of a publish whose `key` would overfill an id's active list. */
  readonly publishFull: JsonMap;
  /**
   * The 400, 401, 413 and 415 of a route that reads a JSON body, the 400 with `codes` too (and
   * the 413 with `alarm_too_large` where the body is an alarm).
   */
  bodyErrors(codes: readonly string[], alarm?: boolean): JsonMap;
  /** `security` of a route behind the API key, when there is one. */
  readonly api: JsonMap;
  /** A required JSON request body of `schema`. */
  jsonBody(schema: JsonMap): JsonMap;
  /** The `Idempotency-Key` header parameter. */
  readonly idempotency: JsonMap;
  /** What a publish can refuse in its fields and headers. */
  readonly publishCodes: readonly string[];
}

/** The operation docs of a route table (`routes.ts`): all the document needs of a route. */
export type DocumentedRoute = Route<{ doc(d: DocContext): JsonMap }>;

/** The {@linkcode DocContext} of `config`. */
function docContext(config: Config): DocContext {
  const keyed = config.apiKey !== undefined;
  const unauthorized = keyed
    ? {
      "401": errorResponse("No API key, or the wrong one", ["unauthorized"], {
        always: ["WWW-Authenticate"],
      }),
    }
    : {};
  const tokens = config.tokenSecrets.length > 0;
  return {
    config,
    keyed,
    tokens,
    origins: config.allowedOrigins.length > 0,
    // Webhooks may be named only with a secret and an allowlist, and only under its origins.
    webhooks: config.webhookSecret === undefined ? [] : config.webhookAllowedOrigins,
    badUrl: errorResponse("A malformed `Host` header or a non-canonical path", URL_CODES),
    unauthorized,
    keyOrToken: keyed || tokens
      ? {
        "401": errorResponse(
          "Neither the API key nor a valid connection token",
          [
            ...(keyed && !tokens ? ["unauthorized"] : []),
            ...(tokens ? ["token_required", "invalid_token", "token_expired", "two_tokens"] : []),
          ],
          keyed && !tokens ? { always: ["WWW-Authenticate"] } : {},
        ),
      }
      : {},
    byKeyOrToken: {
      ...(keyed || tokens ? { security: [{ bearerAuth: [] }] } : {}),
      parameters: [{
        name: "token",
        in: "query",
        description: "A connection token for the id, instead of the `Authorization` header",
        schema: { type: "string" },
      }],
    },
    smallBody: {
      "413": errorResponse(
        `The body is over ${config.maxBodyBytes} bytes (\`MAX_BODY_BYTES\`)`,
        ["body_too_large"],
      ),
      "415": errorResponse("`Content-Type` is not `application/json`", [
        "unsupported_media_type",
      ]),
    },
    storeDown: errorResponse(
      "The store cannot be read or written; retry later",
      ["store_unavailable"],
      { always: ["Retry-After"] },
    ),
    // Answered within the store deadline even while a commit hangs, which may still land.
    publishDown: errorResponse(
      "The store did not take the alarm within the store deadline: it may still be stored, so " +
        "retry with the same Idempotency-Key (or alarm id), which finds it or stores it, once",
      ["store_unavailable"],
      { always: ["Retry-After"] },
    ),
    bodyErrors: (codes, alarm = false) => ({
      "400": errorResponse(
        "The body is not one JSON object within the limits, or a field or header is invalid",
        [...URL_CODES, ...BODY_CODES, ...codes],
      ),
      ...unauthorized,
      "413": alarm
        ? errorResponse(
          `The body is over ${config.maxBodyBytes} bytes (\`MAX_BODY_BYTES\`), or the alarm takes ` +
            `more than ${MAX_ALARM_BYTES} bytes as JSON once parsed`,
          ["body_too_large", "alarm_too_large"],
        )
        : errorResponse(`The body is over ${config.maxBodyBytes} bytes (\`MAX_BODY_BYTES\`)`, [
          "body_too_large",
        ]),
      "415": errorResponse(
        "`Content-Type` is not `application/json` (or names a charset other than UTF-8)",
        ["unsupported_media_type"],
      ),
    }),
    api: keyed ? { security: [{ bearerAuth: [] }] } : {},
    jsonBody: (schema) => ({ required: true, content: { "application/json": { schema } } }),
    idempotency: { $ref: "#/components/parameters/IdempotencyKey" },
    publishCodes: ["reserved_field", "invalid_field", "invalid_header"],
    publishFull: {
      "409": errorResponse(
        `The alarm's \`key\` would put one condition more than ${config.maxConditions} ` +
          "(`MAX_CONDITIONS`) in an id's active list: nothing is stored (with several ids, this " +
          "answer means every one refused it; when only some did, the answer is a 202 naming " +
          "them in `refused`)",
        ["too_many_conditions"],
      ),
    },
  };
}

/** The path-level parameter of each `{param}` name a route template uses. */
const PATH_PARAMETERS: Readonly<Record<string, JsonMap>> = {
  id: { $ref: "#/components/parameters/Id" },
  name: {
    name: "name",
    in: "path",
    required: true,
    description: "The policy's name, an id",
    schema: ref("Id"),
  },
  key: {
    name: "key",
    in: "path",
    required: true,
    description: "A condition's key, percent-encoded (`/` as `%2F`)",
    schema: ref("ConditionKey"),
  },
};

/**
 * The path items of `routes`, in table order: the template's parameters, each method's
 * operation, and the CORS preflight of a `cors` route.
 */
function pathItems(routes: readonly DocumentedRoute[], d: DocContext): JsonMap {
  const paths: JsonMap = {};
  for (const route of routes) {
    const item: JsonMap = {};
    const names = templateParams(route.path);
    if (names.length > 0) {
      item.parameters = names.map((name) => {
        const parameter = PATH_PARAMETERS[name];
        if (!parameter) throw new Error(`Path parameter ${quote(name)} has no documentation`);
        return parameter;
      });
    }
    for (const [method, operation] of Object.entries(route.methods)) {
      item[method.toLowerCase()] = operation.doc(d);
    }
    if (answersHead(route)) item.head = headOf(route.methods.GET!.doc(d));
    if (route.cors) item.options = preflight(d.origins, names);
    paths[route.path] = item;
  }
  return paths;
}

/** The `HEAD` of a route, from its `GET`: the same answers, headers and all, without a body. */
function headOf(get: JsonMap): JsonMap {
  const responses: JsonMap = {};
  for (const [status, response] of Object.entries(get.responses as JsonMap)) {
    const { content: _body, links: _links, ...rest } = response as JsonMap;
    responses[status] = rest;
  }
  return {
    ...get,
    operationId: `${get.operationId}Head`,
    summary: `${get.summary} (headers only)`,
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of `routes` under `config` (what the server can answer depends on
 * the API key, the token secret and the origin allowlist).
 */
export function openApiDocument(
  config: Config,
  routes: readonly DocumentedRoute[],
): Record<string, unknown> {
  const paths = pathItems(routes, docContext(config));

  return {
    openapi: "3.1.0",
    info: {
      title: "alarmcast",
      version: VERSION,
      description: "Real-time alarm push: backends publish over HTTP, browsers hold WebSockets. " +
        "Every error body is the `Error` schema. A path not listed here answers 404 " +
        "`not_found`, a method not listed 405 `method_not_allowed` with `Allow` (after the " +
        `API key check on \`/api/\`). No route answers 411: a body without a length is read ` +
        "as it streams. A 500 (`internal`) is a bug, never part of the contract." +
        (config.allowedHosts.length > 0
          ? " Any route answers 403 `host_not_allowed` to a request sent to a host name " +
            `other than ${config.allowedHosts.map((h) => `\`${h}\``).join(", ")} ` +
            "(`ALLOWED_HOSTS`), an IP address or `localhost`."
          : ""),
      license: { name: "MIT", identifier: "MIT" },
    },
    tags: [
      { name: "publishing" },
      { name: "tokens" },
      { name: "status" },
      { name: "websocket" },
      { name: "static" },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "`Authorization: Bearer <ALARM_API_KEY>`, on every `/api/` route",
        },
      },
      parameters: {
        Id: {
          name: "id",
          in: "path",
          required: true,
          description: "An id: matched on the raw path, a percent-encoded character is refused",
          schema: ref("Id"),
        },
        IdempotencyKey: {
          name: "Idempotency-Key",
          in: "header",
          description: "A repeat within retention answers 200 with the original `id` and `seq`",
          schema: { type: "string", pattern: `^[\\x21-\\x7e]{1,${MAX_IDEMPOTENCY_KEY}}$` },
        },
      },
      headers: {
        ServedBy: {
          description: "The isolate that answered",
          required: true,
          schema: { type: "string", minLength: 1 },
        },
      },
      schemas: SCHEMAS,
    },
  };
}

/**
 * `GET /openapi.json`: answers with the document for `config`, serialized once. Like the client
 * library it is public, so any origin may read it (API explorers, code generators).
 */
export function openApiRoute(
  config: Config,
  routes: readonly DocumentedRoute[],
): () => Response {
  const text = JSON.stringify(openApiDocument(config, routes));
  return () =>
    new Response(text, {
      headers: {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "access-control-allow-origin": "*",
        "cross-origin-resource-policy": "cross-origin",
      },
    });
}

const DATE_TIME: JsonMap = { type: "string", format: "date-time" };

const SCHEMAS: JsonMap = {
  Error: {
    type: "object",
    description: "Every error body",
    required: ["error"],
    additionalProperties: false,
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        additionalProperties: false,
        properties: {
          code: { type: "string", pattern: "^[a-z]+(?:_[a-z]+)*$" },
          message: { type: "string", minLength: 1 },
        },
      },
    },
  },
  Id: {
    type: "string",
    description: `1 to ${MAX_ID_LENGTH} characters from \`A-Z a-z 0-9 _ . : -\``,
    pattern: ID_PATTERN,
  },
  IdPattern: {
    type: "string",
    description: 'An id, a prefix ending in `*` (`"plant-*"`), or `"*"`',
    pattern: ID_PATTERN_OR_PREFIX,
  },
  AlarmId: {
    description: "Given by the publisher, else a UUID",
    oneOf: [
      { type: "string", minLength: 1, maxLength: 128, pattern: NO_CONTROL_CHARS },
      int(0),
    ],
  },
  CreateTime: {
    description: "ISO-8601 (`2026-01-01T08:00:00Z`, `2026-01-01 08:00:00`) or epoch " +
      "milliseconds, on a day the month has (at most what a date can hold)",
    oneOf: [{ type: "string", pattern: ISO_DATE_TIME }, int(0, 8_640_000_000_000_000)],
  },
  AlarmInput: {
    type: "object",
    description: "The publisher's fields, any JSON, passed through. At most " +
      `${MAX_JSON_KEYS} keys in the whole body, nested at most ${MAX_JSON_DEPTH} deep, and at ` +
      `most ${MAX_ALARM_BYTES} bytes as JSON once parsed. \`seq\`, \`target\`, \`condition\` ` +
      "and `transition` are reserved. With a `key`, the alarm raises that condition of the id.",
    maxProperties: MAX_JSON_KEYS,
    additionalProperties: ref("JsonValue"),
    properties: {
      id: {
        description: "Absent or null: a UUID",
        anyOf: [ref("AlarmId"), { type: "null" }],
      },
      createTime: {
        description: "Absent or null: the server's time, ISO-8601 UTC",
        anyOf: [ref("CreateTime"), { type: "null" }],
      },
      key: {
        ...ref("ConditionKey"),
        description: "The condition this alarm raises (a repeat while it is active counts)",
      },
      seq: false,
      target: false,
      condition: false,
      transition: false,
    },
  },
  JsonValue: {
    description: "Any JSON value whose numbers parse to what they say: an integer beyond " +
      `±${Number.MAX_SAFE_INTEGER} (a Java \`long\` id) or one too large for a double is ` +
      "refused (`json_inexact_number`): send such numbers as strings",
    anyOf: [
      { type: ["string", "boolean", "null"] },
      { type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      { type: "number", not: { type: "integer" } },
      { type: "array", items: ref("JsonValue") },
      { type: "object", additionalProperties: ref("JsonValue") },
    ],
  },
  Alarm: {
    type: "object",
    description: "A stored alarm: the publisher's fields plus `id`, `seq`, `target`, `createTime`",
    required: ["id", "seq", "target", "createTime"],
    properties: {
      id: ref("AlarmId"),
      seq: int(1),
      target: ref("Id"),
      createTime: ref("CreateTime"),
    },
  },
  Published: {
    type: "object",
    required: ["id", "seq", "target", "delivered"],
    additionalProperties: false,
    properties: {
      id: ref("AlarmId"),
      seq: int(1),
      target: ref("Id"),
      delivered: { ...int(0), description: "Sessions on this isolate it was handed to" },
      duplicate: { const: true },
    },
  },
  PublishedMany: {
    type: "object",
    required: ["alarms", "delivered"],
    additionalProperties: false,
    properties: {
      alarms: { type: "array", items: ref("Published") },
      delivered: int(0),
      refused: {
        type: "array",
        minItems: 1,
        description: "Present when some ids refused the alarm and stored nothing (their active " +
          "list full); the others stored it",
        items: {
          type: "object",
          required: ["target", "error"],
          additionalProperties: false,
          properties: {
            target: ref("Id"),
            error: {
              type: "object",
              required: ["code", "message"],
              additionalProperties: false,
              properties: {
                code: { enum: ["too_many_conditions"] },
                message: { type: "string", minLength: 1 },
              },
            },
          },
        },
      },
    },
  },
  PublishManyRequest: {
    type: "object",
    required: ["targets", "alarm"],
    additionalProperties: false,
    maxProperties: MAX_JSON_KEYS,
    properties: {
      targets: {
        type: "array",
        description: "Duplicates are dropped",
        minItems: 1,
        maxItems: MAX_TARGETS,
        items: ref("Id"),
      },
      alarm: ref("AlarmInput"),
    },
  },
  History: {
    type: "object",
    required: ["target", "seq", "alarms"],
    additionalProperties: false,
    properties: {
      target: ref("Id"),
      seq: { ...int(0), description: "The id's last seq" },
      alarms: { type: "array", maxItems: MAX_HISTORY, items: ref("Alarm") },
    },
  },
  Transitions: {
    type: "object",
    required: ["id", "seq", "scanned", "transitions"],
    additionalProperties: false,
    properties: {
      id: ref("Id"),
      seq: { ...int(0), description: "The id's last seq" },
      scanned: { ...int(0), description: "The last seq looked at: the next page's `after`" },
      transitions: {
        type: "array",
        maxItems: MAX_HISTORY,
        items: {
          allOf: [ref("Alarm"), {
            type: "object",
            required: ["transition", "condition"],
            properties: {
              transition: {
                type: "object",
                required: ["action", "key", "by", "at"],
                properties: {
                  action: { enum: [...ACTIONS, "expire"] },
                  key: ref("ConditionKey"),
                  by: { type: "string" },
                  at: ref("CreateTime"),
                  comment: { type: "string" },
                  reason: { type: "string" },
                },
              },
              condition: { type: "object", description: "The condition as the change left it" },
            },
          }],
        },
      },
    },
  },
  TokenRequest: {
    type: "object",
    required: ["id"],
    additionalProperties: false,
    maxProperties: MAX_JSON_KEYS,
    properties: {
      id: ref("IdPattern"),
      ttl: { ...int(1, MAX_TTL_SECONDS), default: 3600, description: "Seconds" },
      send: {
        type: "array",
        description: "Ids or prefixes the session may `send` to",
        maxItems: 100,
        items: ref("IdPattern"),
      },
      name: {
        ...ref("ActorName"),
        description:
          "Who the session acts as on conditions (the `by` of its acknowledgements and shelvings)",
      },
    },
  },
  Token: {
    type: "object",
    required: ["token", "expiresAt"],
    additionalProperties: false,
    properties: {
      token: { type: "string", pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$" },
      expiresAt: DATE_TIME,
    },
  },
  Session: {
    type: "object",
    required: ["sessionId", "id", "protocol", "connectedAt", "lastHeartbeat", "ackedSeq"],
    additionalProperties: false,
    properties: {
      sessionId: { type: "string", format: "uuid" },
      id: ref("Id"),
      protocol: { enum: ["legacy", PROTOCOL_V1, PROTOCOL_SSE] },
      connectedAt: DATE_TIME,
      lastHeartbeat: DATE_TIME,
      ackedSeq: int(0),
      tokenExpiresAt: DATE_TIME,
    },
  },
  Sessions: {
    type: "object",
    required: ["sessions", "ids", "byId"],
    additionalProperties: false,
    properties: {
      sessions: int(0),
      ids: int(0),
      byId: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "count", "sessions"],
          additionalProperties: false,
          properties: {
            id: ref("Id"),
            count: int(1),
            sessions: { type: "array", items: ref("Session") },
          },
        },
      },
    },
  },
  IdSessions: {
    type: "object",
    required: ["id", "count", "sessions", "seq", "acked", "unacknowledged"],
    additionalProperties: false,
    properties: {
      id: ref("Id"),
      count: int(0),
      sessions: { type: "array", items: ref("Session") },
      seq: int(0),
      acked: int(0),
      unacknowledged: {
        description: "Alarms after `acked`: `seq - acked`, less the actions on conditions among " +
          `the id's newest ${UNACKNOWLEDGED_SAMPLE} entries; null until some client of the id ` +
          "acknowledges",
        oneOf: [int(0), { type: "null" }],
      },
    },
  },
  Policy: {
    type: "object",
    required: ["name", "match", "ackWithinSeconds", "escalateTo"],
    additionalProperties: false,
    properties: {
      name: ref("Id"),
      match: {
        type: "object",
        required: ["ids", "prefixes", "levels"],
        additionalProperties: false,
        properties: {
          ids: { type: "array", items: ref("Id") },
          prefixes: { type: "array", items: { type: "string", pattern: ID_PATTERN } },
          levels: { type: "array", items: { type: "string" } },
        },
      },
      ackWithinSeconds: int(1, MAX_POLICY_SECONDS),
      escalateTo: { type: "array", items: ref("Id") },
      webhook: { type: "string" },
      repeat: {
        type: "object",
        required: ["everySeconds", "times"],
        additionalProperties: false,
        properties: { everySeconds: int(1, MAX_POLICY_SECONDS), times: int(1, MAX_REPEATS) },
      },
    },
  },
  AckRequest: {
    type: "object",
    required: ["seq"],
    additionalProperties: false,
    properties: {
      seq: { ...int(1), description: "Every alarm up to this seq is acknowledged" },
      sessionId: {
        type: "string",
        minLength: 1,
        maxLength: 64,
        description: "The stream's session (from its `welcome`), shown per session",
      },
    },
  },
  Acked: {
    type: "object",
    required: ["id", "seq"],
    additionalProperties: false,
    properties: { id: ref("Id"), seq: int(1) },
  },
  ActorName: {
    type: "string",
    minLength: 1,
    maxLength: MAX_BY_LENGTH,
    pattern: NO_CONTROL_CHARS,
    not: { pattern: RESERVED_ACTOR_PATTERN },
    description:
      "Who acts on a condition; `system` (in any case) is the server's own; no space at either end, no invisible characters",
  },
  ConditionKey: {
    type: "string",
    minLength: 1,
    maxLength: MAX_KEY_LENGTH,
    pattern: NO_CONTROL_CHARS,
    not: { anyOf: [{ enum: [".", ".."] }, { pattern: BLANK_PATTERN }] },
    description: "A condition of an id, e.g. `boiler-7/pressure-high`; not blank",
  },
  ConditionState: {
    enum: [...CONDITION_STATES],
  },
  Condition: {
    type: "object",
    description: "One condition of an id and its state (ISA-18.2); see docs/conditions.md",
    required: [
      "id",
      "key",
      "state",
      "count",
      "firstTime",
      "lastTime",
      "alarm",
      "raiseSeq",
      "firstSeq",
      "seq",
      "recent",
    ],
    properties: {
      id: ref("Id"),
      key: ref("ConditionKey"),
      state: ref("ConditionState"),
      shelved: {
        type: "object",
        required: ["until", "reason", "by", "at", "untilCleared"],
        properties: {
          until: { ...int(0), description: "Epoch ms the shelving ends by itself" },
          reason: { type: "string" },
          by: { type: "string" },
          at: int(0),
          untilCleared: { type: "boolean" },
        },
      },
      count: { ...int(1), description: "Raises in this episode (repeats included)" },
      firstTime: int(0),
      lastTime: int(0),
      alarm: { type: "object", description: "The latest raise" },
      raiseSeq: int(1),
      firstSeq: int(1),
      seq: { ...int(1), description: "The log entry that last changed it" },
      recent: { type: "array", items: int(0) },
      acknowledged: {
        type: "object",
        required: ["by", "at"],
        properties: { by: { type: "string" }, at: int(0) },
      },
      clearedAt: int(0),
    },
  },
  ConditionList: {
    type: "object",
    required: ["id", "conditions"],
    additionalProperties: false,
    properties: { id: ref("Id"), conditions: { type: "array", items: ref("Condition") } },
  },
  ConditionWithHistory: {
    allOf: [ref("Condition"), {
      type: "object",
      required: ["history"],
      properties: {
        history: {
          type: "array",
          description: "Its raises and transitions still in the log, oldest first",
          items: ref("Alarm"),
        },
      },
    }],
  },
  ConditionAction: {
    type: "object",
    additionalProperties: false,
    properties: {
      by: {
        ...ref("ActorName"),
        description:
          "Who acts (with the API key; with a token, it is the token's `name`, else its id pattern)",
      },
      comment: { type: "string", minLength: 1, maxLength: MAX_COMMENT_LENGTH },
    },
  },
  AlarmPerformance: {
    type: "object",
    required: ["id", "windowMs", "alarms", "flood", "chattering", "stale", "shelved", "frequent"],
    additionalProperties: false,
    properties: {
      id: ref("Id"),
      windowMs: { const: FLOOD_WINDOW_MS },
      alarms: { ...int(0), description: "Alarms in the window, by `createTime`" },
      flood: { type: "boolean", description: `More than ${FLOOD_ALARMS} alarms in the window` },
      chattering: { type: "array", items: ref("ConditionKey") },
      stale: { type: "array", items: ref("ConditionKey") },
      shelved: int(0),
      frequent: {
        type: "array",
        items: {
          type: "object",
          required: ["key", "count"],
          additionalProperties: false,
          properties: { key: ref("ConditionKey"), count: int(1) },
        },
      },
    },
  },
  ConditionChanged: {
    type: "object",
    required: ["id", "key", "seq", "condition"],
    additionalProperties: false,
    properties: {
      id: ref("Id"),
      key: ref("ConditionKey"),
      seq: { ...int(1), description: "The transition's entry on the id's log" },
      condition: ref("Condition"),
    },
  },
  Health: {
    type: "object",
    required: ["status", "version", "instance", "instances", "delivery"],
    additionalProperties: false,
    properties: {
      status: { const: "ok" },
      version: { const: VERSION },
      instance: { type: "string", minLength: 1 },
      instances: int(1),
      delivery: { enum: ["local", "feed", "feed+poll"] },
    },
  },
  Stopping: {
    type: "object",
    required: ["status"],
    additionalProperties: false,
    properties: { status: { const: "stopping" } },
  },
};
