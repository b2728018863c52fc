/**
 * The HTTP API as an OpenAPI 3.1 document, served at `GET /openapi.json`. It is built from the
 * running configuration, so it lists only what this server can answer: the bearer scheme and
 * the 401s only with an API key, `201` or `501` on `/api/tokens` as tokens are on or off, the
 * origin refusal only with an allowlist. Limits come from the constants the checks use, so the
 * document cannot drift from them silently; `tests/openapi_test.ts` replays real requests
 * against it and `tests/fuzz_test.ts` fuzzes the server with it.
 *
 * @module
 */
import {
  MAX_ALARM_BYTES,
  MAX_ID_LENGTH,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  MAX_POLICIES,
  MAX_POLICY_LIST,
  MAX_POLICY_SECONDS,
  MAX_REPEATS,
  MAX_STREAM_IDS,
  MAX_TTL_SECONDS,
  PROTOCOL_SSE,
  PROTOCOL_V1,
  VERSION,
} from "../core/mod.ts";
import type { Config } from "../config.ts";
import { MAX_HISTORY, MAX_IDEMPOTENCY_KEY, MAX_TARGETS } from "./publish.ts";

/** A JSON value as the document holds it. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

// The patterns are ECMA-262 and Python `re` alike (schemathesis reads them with Python): no
// `\d` (Unicode digits in Python), no lookbehind, no flags.
const ID_PATTERN = `^[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}$`;
const ID_PATTERN_OR_PREFIX = `^(?:\\*|[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}\\*?)$`;
// What `isValidCreateTime` accepts: its ISO-8601 shape narrowed to what `Date.parse` reads
// (months 01-12, days 01-31 whatever the month, 24:00 only as midnight, offsets to 23:59).
const ISO_DATE_TIME = "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ]" +
  "(?:(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?|24:00(?::00(?:\\.0{1,9})?)?)" +
  "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$";
// Control characters, refused in a publisher's alarm `id` (the same class as `core/alarm.ts`).
const NO_CONTROL_CHARS = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$";
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// What `trim()` strips from the items of a header list (in a Latin-1 header value).
const WS = "[ \\t\\u00a0]*";
/** A header list with an item equal to `word`, ignoring case (as `upgrade.ts` and Deno read it). */
const listNaming = (word: string): string =>
  `^(?:[^,]*,)*${WS}${[...word].map((c) => `[${c.toUpperCase()}${c}]`).join("")}${WS}(?:,[^,]*)*$`;
// Subprotocols as `negotiate` takes them: a list separated by ", " naming `alarms.v1` (the only
// separator Deno.upgradeWebSocket reads), or one of empty items; HTTP trims the ends.
const SUBPROTOCOLS = `^[ \\t]*(?:(?:.*, )?${PROTOCOL_V1.replaceAll(".", "\\.")}(?:, .*)?` +
  `|[ \\t\\u00a0,]*)[ \\t]*$`;

const ref = (name: string): JsonMap => ({ $ref: `#/components/schemas/${name}` });
const int = (minimum: number, maximum = MAX_SAFE): JsonMap => ({
  type: "integer",
  minimum,
  maximum,
});

/** The error body with `code` narrowed to `codes`. */
function errorBody(codes: readonly string[]): JsonMap {
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
function errorResponse(
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

function header(name: string, required: boolean): JsonMap {
  const schema = HEADER_SCHEMAS[name] ?? { type: "string" };
  return { required, schema };
}

// A stream cursor as `decodeCursor` reads it: `<id>=<seq>` entries joined by commas.
const CURSOR = `^[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}=(?:0|[1-9][0-9]{0,14})` +
  `(?:,[A-Za-z0-9_.:-]{1,${MAX_ID_LENGTH}}=(?:0|[1-9][0-9]{0,14}))*$`;

/** The query and header parameters every event stream takes besides its cursor. */
function streamParams(tokens: boolean, origins: boolean): Json[] {
  return [
    {
      name: "token",
      in: "query",
      description: "A connection token covering every id of the stream" +
        (tokens ? "" : "; ignored, tokens are off"),
      schema: { type: "string" },
    },
    {
      name: "Origin",
      in: "header",
      description: origins
        ? "Must be in `ALLOWED_ORIGINS` or this server's own host when sent"
        : "Not checked: `ALLOWED_ORIGINS` is empty",
      schema: { type: "string" },
    },
  ];
}

/** What opening an event stream can answer. */
function streamResponses(tokens: boolean, origins: boolean): JsonMap {
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
function forbidden(tokens: boolean, origins: boolean): JsonMap {
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
function admissionRefusals(tokens: boolean, origins: boolean): JsonMap {
  return {
    ...(tokens
      ? {
        "401": errorResponse("No connection token, a bad one or an expired one", [
          "token_required",
          "invalid_token",
          "token_expired",
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
function preflight(origins: boolean, withId: boolean): JsonMap {
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
        "A malformed `Host` header or a non-canonical path" + (withId ? ", or an invalid id" : ""),
        [...URL_CODES, ...(withId ? ["invalid_id"] : [])],
      ),
    },
  };
}

/** The body of `PUT /api/policies/{name}` (`core/policy.ts`), with webhooks to `origins` only. */
function policyInput(origins: readonly string[]): JsonMap {
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
function jsonOk(description: string, schema: JsonMap): JsonMap {
  return {
    description,
    headers: { "x-served-by": { $ref: "#/components/headers/ServedBy" } },
    content: { "application/json": { schema } },
  };
}

// The `{id}` of the history and sessions routes is an alarm's `target` (its `id` is the alarm's).
const TARGET_LINKS: JsonMap = {
  history: { operationId: "history", parameters: { id: "$response.body#/target" } },
  sessionsOf: { operationId: "sessionsOf", parameters: { id: "$response.body#/target" } },
};

// Every route reads the URL first: a malformed `Host` or a path a URL parser would rewrite
// (dot segments, escaped dots, backslashes) is refused before routing.
const URL_CODES = ["invalid_host", "invalid_path"];
// What reading a JSON body can refuse (`body.ts`).
const BODY_CODES = ["invalid_json", "json_too_deep", "json_too_many_keys", "not_an_object"];

/**
 * The OpenAPI 3.1 document of this server's HTTP API under `config` (what it can answer
 * depends on the API key, the token secret and the origin allowlist).
 */
export function openApiDocument(config: Config): Record<string, unknown> {
  const keyed = config.apiKey !== undefined;
  const tokens = config.tokenSecrets.length > 0;
  const origins = config.allowedOrigins.length > 0;
  // Webhooks may be named only with a secret and an allowlist, and only under its origins.
  const webhooks = config.webhookSecret === undefined ? [] : config.webhookAllowedOrigins;

  const badUrl = errorResponse("A malformed `Host` header or a non-canonical path", URL_CODES);
  const unauthorized = keyed
    ? {
      "401": errorResponse("No API key, or the wrong one", ["unauthorized"], {
        always: ["WWW-Authenticate"],
      }),
    }
    : {};
  const storeDown = errorResponse(
    "The store cannot be read or written; retry later",
    ["store_unavailable"],
    { always: ["Retry-After"] },
  );
  // Answered within the store deadline even while a commit hangs, which may still land.
  const publishDown = errorResponse(
    "The store did not take the alarm within the store deadline: it may still be stored, so " +
      "retry with the same Idempotency-Key (or alarm id), which finds it or stores it, once",
    ["store_unavailable"],
    { always: ["Retry-After"] },
  );
  const bodyErrors = (codes: readonly string[]) => ({
    "400": errorResponse(
      "The body is not one JSON object within the limits, or a field or header is invalid",
      [...URL_CODES, ...BODY_CODES, ...codes],
    ),
    ...unauthorized,
    "413": errorResponse(
      `The body is over ${config.maxBodyBytes} bytes (\`MAX_BODY_BYTES\`), or the alarm takes ` +
        `more than ${MAX_ALARM_BYTES} bytes as JSON once parsed`,
      ["body_too_large", "alarm_too_large"],
    ),
    "415": errorResponse(
      "`Content-Type` is not `application/json` (or names a charset other than UTF-8)",
      ["unsupported_media_type"],
    ),
  });
  const api = keyed ? { security: [{ bearerAuth: [] }] } : {};
  const jsonBody = (schema: JsonMap) => ({
    required: true,
    content: { "application/json": { schema } },
  });
  const idParam = { $ref: "#/components/parameters/Id" };
  const idempotency = { $ref: "#/components/parameters/IdempotencyKey" };
  const publishCodes = ["reserved_field", "invalid_field", "invalid_header"];

  const paths: JsonMap = {
    "/api/alarms/{id}": {
      parameters: [idParam],
      post: {
        operationId: "publish",
        tags: ["publishing"],
        summary: "Publish one alarm to one id",
        description: "Stored in KV before the answer; then delivered to the id's sessions.",
        ...api,
        parameters: [idempotency],
        requestBody: jsonBody(ref("AlarmInput")),
        responses: {
          "200": {
            ...jsonOk("A repeat of an idempotent publish: neither stored nor delivered again", {
              allOf: [ref("Published"), { required: ["duplicate"] }],
            }),
            links: TARGET_LINKS,
          },
          "202": {
            ...jsonOk("Stored, then delivered to the sessions on this isolate", {
              allOf: [ref("Published"), { not: { required: ["duplicate"] } }],
            }),
            links: TARGET_LINKS,
          },
          ...bodyErrors(["invalid_id", ...publishCodes]),
          "503": publishDown,
        },
      },
      get: {
        operationId: "history",
        tags: ["publishing"],
        summary: "The stored alarms of an id, oldest first",
        ...api,
        parameters: [
          {
            name: "after",
            in: "query",
            description: "Only alarms with a larger seq",
            schema: { ...int(0), default: 0 },
          },
          {
            name: "limit",
            in: "query",
            description: "Most alarms to return",
            schema: { ...int(1, MAX_HISTORY), default: 100 },
          },
        ],
        responses: {
          "200": jsonOk("The alarms after `after`, and the id's last seq", ref("History")),
          "400": errorResponse("An invalid id, `after` or `limit`", [
            ...URL_CODES,
            "invalid_id",
            "invalid_parameter",
          ]),
          ...unauthorized,
          "503": storeDown,
        },
      },
    },
    "/api/alarms": {
      post: {
        operationId: "publishMany",
        tags: ["publishing"],
        summary: "Publish one alarm to several ids",
        description: "Each target gets its own seq; all share `id` and `createTime`.",
        ...api,
        parameters: [idempotency],
        requestBody: jsonBody(ref("PublishManyRequest")),
        responses: {
          "202": jsonOk("Stored for every target, then delivered", ref("PublishedMany")),
          ...bodyErrors(["invalid_id", ...publishCodes]),
          "503": publishDown,
        },
      },
    },
    "/api/broadcast": {
      post: {
        operationId: "broadcast",
        tags: ["publishing"],
        summary: "Publish one alarm to every id that has a session anywhere",
        ...api,
        parameters: [idempotency],
        requestBody: jsonBody(ref("AlarmInput")),
        responses: {
          "202": jsonOk("Stored for every id online, then delivered", ref("PublishedMany")),
          ...bodyErrors(publishCodes),
          "503": publishDown,
        },
      },
    },
    "/api/tokens": {
      post: {
        operationId: "issueToken",
        tags: ["tokens"],
        summary: "Mint a connection token for a browser",
        ...api,
        requestBody: jsonBody(ref("TokenRequest")),
        responses: {
          ...(tokens ? { "201": jsonOk("The token and its expiry", ref("Token")) } : {
            "501": errorResponse("Tokens are off: `WS_TOKEN_SECRET` is not set", [
              "tokens_disabled",
            ]),
          }),
          ...bodyErrors(["invalid_field"]),
        },
      },
    },
    "/api/sessions": {
      get: {
        operationId: "sessions",
        tags: ["status"],
        summary: "Sessions per id across every isolate, with this isolate's in detail",
        ...api,
        responses: {
          "200": jsonOk("Who is online", ref("Sessions")),
          "400": badUrl,
          ...unauthorized,
          "503": storeDown,
        },
      },
    },
    "/api/sessions/{id}": {
      parameters: [idParam],
      get: {
        operationId: "sessionsOf",
        tags: ["status"],
        summary: "One id: its sessions, its last seq and what is unacknowledged",
        ...api,
        responses: {
          "200": jsonOk("The id's sessions and acknowledgements", ref("IdSessions")),
          "400": errorResponse("An invalid id", [...URL_CODES, "invalid_id"]),
          ...unauthorized,
          "503": storeDown,
        },
      },
    },
    "/healthz": {
      get: {
        operationId: "health",
        tags: ["status"],
        summary: "Health: writes a probe record and reads presence",
        responses: {
          "200": jsonOk("Healthy", ref("Health")),
          "400": badUrl,
          "503": {
            description: "Shutting down (`stopping`), or the store is unavailable",
            headers: {
              "x-served-by": { $ref: "#/components/headers/ServedBy" },
              "Retry-After": header("Retry-After", false),
            },
            content: {
              "application/json": {
                schema: {
                  oneOf: [ref("Stopping"), errorBody(["store_unavailable"])],
                },
              },
            },
          },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        tags: ["status"],
        summary: "Counters and gauges of this isolate",
        responses: {
          "200": {
            description: "Prometheus text format 0.0.4",
            headers: { "x-served-by": { $ref: "#/components/headers/ServedBy" } },
            content: { "text/plain": { schema: { type: "string" } } },
          },
          "400": badUrl,
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        tags: ["static"],
        summary: "This document",
        responses: {
          "200": {
            description: "The OpenAPI 3.1 document of this server",
            headers: {
              "x-served-by": { $ref: "#/components/headers/ServedBy" },
              "Access-Control-Allow-Origin": { required: true, schema: { const: "*" } },
            },
            content: { "application/json": { schema: { type: "object" } } },
          },
          "400": badUrl,
        },
      },
    },
    "/websocket/{id}": {
      parameters: [idParam],
      get: {
        operationId: "websocket",
        tags: ["websocket"],
        summary: "Open a WebSocket to an id (legacy or `alarms.v1`)",
        description:
          "An RFC 6455 upgrade. Without a subprotocol the socket is legacy (flat alarm objects " +
          `only); offering \`${PROTOCOL_V1}\` gives typed envelopes. The frames, close codes ` +
          "and delivery guarantees are in docs/protocol.md. Every refusal comes before the " +
          "upgrade, as an HTTP status with a JSON body.",
        parameters: [
          {
            name: "since",
            in: "query",
            description: "Replay the stored alarms with a larger seq first",
            schema: int(0),
          },
          {
            name: "token",
            in: "query",
            description: "A connection token (legacy pages; v1 clients may offer " +
              "`token.<token>` as a second subprotocol instead)" +
              (tokens ? "" : "; ignored, tokens are off"),
            schema: { type: "string" },
          },
          {
            name: "Upgrade",
            in: "header",
            required: true,
            schema: {
              type: "string",
              pattern: listNaming("websocket"),
            },
          },
          {
            name: "Connection",
            in: "header",
            required: true,
            schema: {
              type: "string",
              pattern: listNaming("upgrade"),
            },
          },
          {
            name: "Sec-WebSocket-Version",
            in: "header",
            required: true,
            schema: { type: "string", const: "13" },
          },
          {
            name: "Sec-WebSocket-Key",
            in: "header",
            required: true,
            description: "16 random bytes in base64",
            schema: { type: "string", pattern: "^[A-Za-z0-9+/]{22}==$" },
          },
          {
            name: "Sec-WebSocket-Protocol",
            in: "header",
            description: `A list naming \`${PROTOCOL_V1}\` (and optionally \`token.<token>\`), ` +
              "or none: a legacy socket",
            schema: {
              type: "string",
              pattern: SUBPROTOCOLS,
            },
          },
          {
            name: "Origin",
            in: "header",
            description: origins
              ? "Must be in `ALLOWED_ORIGINS` or this server's own host when sent"
              : "Not checked: `ALLOWED_ORIGINS` is empty",
            schema: { type: "string" },
          },
        ],
        responses: {
          "101": {
            description: `Switching to the WebSocket protocol; \`${PROTOCOL_V1}\` is echoed in ` +
              "`Sec-WebSocket-Protocol` when offered",
          },
          "400": errorResponse(
            "An invalid id or `since`, a malformed handshake, or subprotocols without " +
              `\`${PROTOCOL_V1}\``,
            [
              ...URL_CODES,
              "invalid_id",
              "invalid_parameter",
              "bad_handshake",
              "unsupported_subprotocol",
            ],
            { sometimes: ["Sec-WebSocket-Version"] },
          ),
          "426": errorResponse("Not a WebSocket upgrade", ["upgrade_required"], {
            always: ["Upgrade"],
          }),
          ...admissionRefusals(tokens, origins),
        },
      },
    },
    "/api/policies": {
      get: {
        operationId: "policies",
        tags: ["escalation"],
        summary: "Every escalation policy, by name",
        ...api,
        responses: {
          "200": jsonOk("The policies", {
            type: "object",
            required: ["policies"],
            additionalProperties: false,
            properties: { policies: { type: "array", items: ref("Policy") } },
          }),
          "400": badUrl,
          ...unauthorized,
          "503": storeDown,
        },
      },
    },
    "/api/policies/{name}": {
      parameters: [{
        name: "name",
        in: "path",
        required: true,
        description: "The policy's name, an id",
        schema: ref("Id"),
      }],
      put: {
        operationId: "putPolicy",
        tags: ["escalation"],
        summary: "Create or replace an escalation policy",
        description: "Alarms it covers get an `ackBy` deadline; see docs/escalation.md.",
        ...api,
        requestBody: jsonBody(policyInput(webhooks)),
        responses: {
          "200": jsonOk("Replaced", ref("Policy")),
          "201": jsonOk("Created", ref("Policy")),
          ...bodyErrors(["invalid_id", "invalid_field", "unknown_field", "webhook_not_allowed"]),
          "409": errorResponse(`The store holds ${MAX_POLICIES} policies already`, [
            "too_many_policies",
          ]),
          "503": storeDown,
        },
      },
      get: {
        operationId: "getPolicy",
        tags: ["escalation"],
        summary: "One escalation policy",
        ...api,
        responses: {
          "200": jsonOk("The policy", ref("Policy")),
          "400": errorResponse("An invalid name", [...URL_CODES, "invalid_id"]),
          ...unauthorized,
          "404": errorResponse("No policy of that name", ["not_found"]),
          "503": storeDown,
        },
      },
      delete: {
        operationId: "deletePolicy",
        tags: ["escalation"],
        summary: "Delete an escalation policy and its pending escalations",
        ...api,
        responses: {
          "204": { description: "Deleted" },
          "400": errorResponse("An invalid name", [...URL_CODES, "invalid_id"]),
          ...unauthorized,
          "404": errorResponse("No policy of that name", ["not_found"]),
          "503": storeDown,
        },
      },
    },
    "/events/{id}": {
      parameters: [idParam],
      get: {
        operationId: "events",
        tags: ["events"],
        summary: "Receive an id's alarms as Server-Sent Events",
        description:
          "For networks that refuse WebSocket upgrades. Alarms are events without an `event:` " +
          "field whose `id` is the seq and whose data is the flat alarm object; `welcome`, `gap` " +
          "and `close` are named events; `: ping` comments keep the stream open. Admission " +
          "(origin, rate, token, caps) is the socket's. Format in docs/protocol.md.",
        parameters: [
          {
            name: "since",
            in: "query",
            description: "Replay the stored alarms with a larger seq first",
            schema: int(0, 999_999_999_999_999), // 15 digits, as `parseSeq` reads them
          },
          ...streamParams(tokens, origins),
          {
            name: "Last-Event-ID",
            in: "header",
            description: "The last seq received (sent by `EventSource` when it reconnects); " +
              "wins over `since`",
            schema: { type: "string", pattern: "^(0|[1-9][0-9]{0,14})$" },
          },
        ],
        responses: streamResponses(tokens, origins),
      },
      options: preflight(origins, true),
    },
    "/events": {
      get: {
        operationId: "eventsOfMany",
        tags: ["events"],
        summary: "Receive the alarms of several ids on one stream",
        description: "As `/events/{id}`; each event's `id` is the position of every id " +
          "(`a=5,b=7`), which `Last-Event-ID` or `since` resume from.",
        parameters: [
          {
            name: "id",
            in: "query",
            required: true,
            style: "form",
            explode: true,
            schema: {
              type: "array",
              minItems: 1,
              maxItems: MAX_STREAM_IDS,
              uniqueItems: true,
              items: ref("Id"),
            },
          },
          {
            name: "since",
            in: "query",
            description: "A cursor `<id>=<seq>,…` naming ids of this stream",
            schema: { type: "string", pattern: CURSOR },
          },
          ...streamParams(tokens, origins),
          {
            name: "Last-Event-ID",
            in: "header",
            description: "The cursor of the last event received; wins over `since`",
            schema: { type: "string", pattern: CURSOR },
          },
        ],
        responses: streamResponses(tokens, origins),
      },
      options: preflight(origins, false),
    },
    "/api/acks/{id}": {
      parameters: [idParam],
      post: {
        operationId: "acknowledge",
        tags: ["events"],
        summary: "Acknowledge an id's alarms up to a seq (clients without a socket)",
        description: "Takes the API key or a connection token covering the id " +
          "(`Authorization: Bearer` or `?token=`); the record a v1 socket's `ack` writes.",
        ...(keyed || tokens ? { security: [{ bearerAuth: [] }] } : {}),
        parameters: [{
          name: "token",
          in: "query",
          description: "A connection token for the id, instead of the `Authorization` header",
          schema: { type: "string" },
        }],
        requestBody: jsonBody(ref("AckRequest")),
        responses: {
          "200": jsonOk("Recorded (a lower seq than recorded changes nothing)", ref("Acked")),
          "400": errorResponse(
            "The body is not one JSON object within the limits, or a field is invalid",
            [...URL_CODES, ...BODY_CODES, "invalid_id", "invalid_field"],
          ),
          "409": errorResponse("The seq is beyond the id's last", ["invalid_ack"]),
          ...(keyed || tokens
            ? {
              "401": errorResponse(
                "Neither the API key nor a valid connection token",
                [
                  ...(keyed && !tokens ? ["unauthorized"] : []),
                  ...(tokens ? ["token_required", "invalid_token", "token_expired"] : []),
                ],
                keyed && !tokens ? { always: ["WWW-Authenticate"] } : {},
              ),
            }
            : {}),
          ...forbidden(tokens, origins),
          "413": errorResponse(
            `The body is over ${config.maxBodyBytes} bytes (\`MAX_BODY_BYTES\`)`,
            ["body_too_large"],
          ),
          "415": errorResponse("`Content-Type` is not `application/json`", [
            "unsupported_media_type",
          ]),
          "503": storeDown,
        },
      },
      options: preflight(origins, true),
    },
  };
  for (const [path, asset] of Object.entries(ASSET_PATHS)) {
    paths[path] = {
      get: {
        operationId: asset.operationId,
        tags: ["static"],
        summary: asset.summary,
        parameters: [{
          name: "If-None-Match",
          in: "header",
          description: "The ETag of a copy held: answered 304 when it is current",
          schema: { type: "string" },
        }],
        responses: {
          "200": {
            description: asset.summary,
            headers: {
              "x-served-by": { $ref: "#/components/headers/ServedBy" },
              // Weak (W/) when Deno compressed the response.
              "ETag": {
                required: true,
                schema: { type: "string", pattern: '^(?:W/)?"[0-9a-f]{24}"$' },
              },
              ...(asset.cors
                ? { "Access-Control-Allow-Origin": { required: true, schema: { const: "*" } } }
                : {}),
            },
            content: { [asset.type]: { schema: { type: "string" } } },
          },
          "304": { description: "The copy held is current" },
          "400": badUrl,
        },
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "alarmcast",
      version: VERSION,
      description: "Real-time alarm push: backends publish over HTTP, browsers hold WebSockets. " +
        "Every error body is the `Error` schema. A path not listed here answers 404 " +
        "`not_found`, a method not listed 405 `method_not_allowed` with `Allow` (after the " +
        `API key check on \`/api/\`). No route answers 411: a body without a length is read ` +
        "as it streams. A 500 (`internal`) is a bug, never part of the contract.",
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
export function openApiRoute(config: Config): () => Response {
  const text = JSON.stringify(openApiDocument(config));
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

const ASSET_PATHS: Readonly<
  Record<string, { operationId: string; summary: string; type: string; cors?: true }>
> = {
  "/": { operationId: "console", summary: "The alarm console page", type: "text/html" },
  "/console.css": { operationId: "consoleCss", summary: "The console's CSS", type: "text/css" },
  "/console.js": {
    operationId: "consoleJs",
    summary: "The console's script",
    type: "text/javascript",
  },
  "/client.js": {
    operationId: "clientJs",
    summary: "The client library (an ES module)",
    type: "text/javascript",
    cors: true,
  },
  "/v1/client.js": {
    operationId: "clientJsV1",
    summary: "The client library at the stable URL of its major version",
    type: "text/javascript",
    cors: true,
  },
};

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
    description: "ISO-8601 (`2026-01-01T08:00:00Z`, `2026-01-01 08:00:00`) or epoch milliseconds",
    oneOf: [{ type: "string", pattern: ISO_DATE_TIME }, int(0)],
  },
  AlarmInput: {
    type: "object",
    description: "The publisher's fields, any JSON, passed through. At most " +
      `${MAX_JSON_KEYS} keys in the whole body, nested at most ${MAX_JSON_DEPTH} deep, and at ` +
      `most ${MAX_ALARM_BYTES} bytes as JSON once parsed. \`seq\` and \`target\` are reserved.`,
    maxProperties: MAX_JSON_KEYS,
    properties: {
      id: {
        description: "Absent or null: a UUID",
        anyOf: [ref("AlarmId"), { type: "null" }],
      },
      createTime: {
        description: "Absent or null: the server's time, ISO-8601 UTC",
        anyOf: [ref("CreateTime"), { type: "null" }],
      },
      seq: false,
      target: false,
    },
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
    },
  },
  PublishManyRequest: {
    type: "object",
    required: ["targets", "alarm"],
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
  TokenRequest: {
    type: "object",
    required: ["id"],
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
        description: "`seq - acked`; null until some client of the id acknowledges",
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
