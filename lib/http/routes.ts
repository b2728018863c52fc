/**
 * The route table: every HTTP route of the service, declared once. An entry is an OpenAPI path
 * template with, for each method, its handler and its operation in `/openapi.json`; whether
 * the API key guards it (`auth`) and whether it answers CORS preflights (`cors`). Dispatch,
 * 405s with `Allow`, and the document's paths all come from here (`router.ts`, `openapi.ts`);
 * only `POST /api/alarms/{id}` also has a fast lane in front (`handler.ts`). Adding an endpoint
 * is one entry here, plus its test.
 *
 * @module
 */
import {
  ACTIONS,
  CONDITION_STATES,
  type JsonObject,
  MAX_POLICIES,
  MAX_STREAM_IDS,
  PROTOCOL_V1,
  quote,
} from "../core/mod.ts";
import type { Escalation } from "../escalation/mod.ts";
import type { Metrics } from "../observe/mod.ts";
import { acknowledge } from "./acks.ts";
import {
  actOnCondition,
  alarmPerformance,
  listConditions,
  listTransitions,
  showCondition,
} from "./conditions.ts";
import type { ApiKeyAuth } from "./auth.ts";
import { readJsonObject } from "./body.ts";
import {
  admissionRefusals,
  BODY_CODES,
  CURSOR,
  type DocContext,
  errorBody,
  errorResponse,
  forbidden,
  header,
  int,
  type JsonMap,
  jsonOk,
  listNaming,
  originParam,
  policyInput,
  ref,
  shelveRequest,
  streamParams,
  streamResponses,
  SUBPROTOCOLS,
  TARGET_LINKS,
  URL_CODES,
} from "./openapi.ts";
import { deletePolicy, getPolicy, listPolicies, putPolicy } from "./policies.ts";
import { history, publishBroadcast, publishMany, publishOne } from "./publish.ts";
import { checkId, MAX_HISTORY } from "./request.ts";
import type { Route } from "./router.ts";
import { type Asset, ASSETS, type StaticFiles } from "./static.ts";
import { allSessions, health, metricsText, sessionsOf } from "./status.ts";
import {
  clientAddress,
  type ConnInfo,
  openSocket,
  openStream,
  type SubscribeDeps,
} from "./subscribe.ts";
import { issueToken } from "./tokens.ts";

/** What the routes need, built once per handler. */
export interface RouteDeps extends SubscribeDeps {
  escalation: Escalation;
  metrics: Metrics;
  statics: StaticFiles;
  /** The API key check, when `ALARM_API_KEY` is set (acks take it or a connection token). */
  auth: ApiKeyAuth | undefined;
  /** Answers `GET /openapi.json`. */
  openApi(): Response;
}

/** What a handler gets for one request. */
export interface RouteContext {
  readonly req: Request;
  /** The request's URL, checked canonical (`requestUrl`). */
  readonly url: URL;
  /** The path's `{param}` segments as sent: each handler checks its own. */
  readonly params: Readonly<Record<string, string>>;
  readonly info: ConnInfo | undefined;
  readonly deps: RouteDeps;
}

/** One method of a route: what answers it, and how `/openapi.json` documents it. */
export interface Operation {
  handle(ctx: RouteContext): Response | Promise<Response>;
  /** The OpenAPI operation object, for the configuration `d` describes. */
  doc(d: DocContext): JsonMap;
}

/** The `{name}` segment of the request's path (the router fills every one of its template). */
function param(ctx: RouteContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`Route has no parameter ${quote(name)}`);
  return value;
}

/** The request's JSON object body, within `MAX_BODY_BYTES`. */
function body(ctx: RouteContext): Promise<JsonObject> {
  return readJsonObject(ctx.req, ctx.deps.config.maxBodyBytes);
}

function address(ctx: RouteContext): string {
  return clientAddress(ctx.req, ctx.info, ctx.deps.config.trustedProxies);
}

// Only URLs the fast lane would not take get here (a query string, an escaped character…).
async function publishTo(ctx: RouteContext): Promise<Response> {
  const target = checkId(param(ctx, "id"));
  return publishOne(ctx.deps.hub, target, await body(ctx), ctx.req.headers, ctx.deps.now());
}

function ack(ctx: RouteContext): Promise<Response> {
  const { hub, gate, auth, config, now } = ctx.deps;
  const id = checkId(param(ctx, "id"));
  return acknowledge(ctx.req, id, ctx.url.searchParams, {
    hub,
    gate,
    auth,
    maxBodyBytes: config.maxBodyBytes,
    now,
  });
}

/** A static file's route (`static.ts` lists them). */
function assetRoute(asset: Asset): Route<Operation> {
  const type = asset.type.split(";")[0]!;
  return {
    path: asset.path,
    methods: {
      GET: {
        handle: (ctx) => ctx.deps.statics.serve(ctx.req, asset),
        doc: ({ badUrl }) => ({
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
                ...(asset.public
                  ? { "Access-Control-Allow-Origin": { required: true, schema: { const: "*" } } }
                  : {}),
              },
              content: { [type]: { schema: { type: "string" } } },
            },
            "304": { description: "The copy held is current" },
            "400": badUrl,
          },
        }),
      },
    },
  };
}

/** `POST /api/conditions/{id}/{key}/{action}`: one route per action, each with its body. */
function conditionRoute(action: (typeof ACTIONS)[number]): Route<Operation> {
  const clear = action === "clear";
  return {
    path: `/api/conditions/{id}/{key}/${action}`,
    cors: true,
    methods: {
      POST: {
        handle: (ctx) => {
          const { hub, gate, auth, config, now } = ctx.deps;
          return actOnCondition(
            ctx.req,
            checkId(param(ctx, "id")),
            param(ctx, "key"),
            action,
            ctx.url.searchParams,
            {
              hub,
              gate,
              auth,
              maxBodyBytes: config.maxBodyBytes,
              now,
              maxShelveSeconds: config.maxShelveSeconds,
            },
          );
        },
        doc: (d) => ({
          operationId: `${action}Condition`,
          tags: ["conditions"],
          summary: CONDITION_SUMMARIES[action],
          description:
            (clear
              ? "The publisher's: takes the API key (a connection token is refused). "
              : "Takes the API key or a connection token covering the id (`Authorization: " +
                "Bearer` or `?token=`); with a token, `by` is the token's `name`, else its id " +
                "pattern. ") +
            "The change is pushed to every v1 and SSE session of the id on every instance.",
          ...d.byKeyOrToken,
          requestBody: d.jsonBody(
            action === "shelve" ? shelveRequest(d.config.maxShelveSeconds) : ref("ConditionAction"),
          ),
          responses: {
            "200": jsonOk("Changed: the condition as it is now", ref("ConditionChanged")),
            "400": errorResponse(
              "The body is not one JSON object within the limits, a field is invalid, or an " +
                "invalid id or key",
              [
                ...URL_CODES,
                ...BODY_CODES,
                "invalid_id",
                "invalid_key",
                "invalid_field",
                "unknown_field",
              ],
            ),
            ...(clear && d.keyed ? d.unauthorized : d.keyOrToken),
            ...(d.tokens || d.origins
              ? {
                "403": errorResponse(
                  "The token doesn't cover the id" + (clear && d.keyed ? " or can't clear" : "") +
                    ", or the origin is not allowed",
                  [
                    ...(d.tokens ? ["forbidden"] : []),
                    ...(d.origins ? ["origin_not_allowed"] : []),
                  ],
                ),
              }
              : {}),
            "404": errorResponse("The id has no such condition", ["unknown_condition"]),
            "409": errorResponse(
              "The condition's state doesn't allow it; of two racing changes, the later is " +
                "refused",
              CONFLICTS[action],
            ),
            ...d.smallBody,
            "503": d.storeDown,
          },
        }),
      },
    },
  };
}

/** The `after` and `limit` parameters of a route paging through an id's log (`pageOf`). */
function pageParams(what: string, afterNote = ""): JsonMap[] {
  return [
    {
      name: "after",
      in: "query",
      description: `Only ${what} with a larger seq${afterNote}`,
      schema: { ...int(0), default: 0 },
    },
    {
      name: "limit",
      in: "query",
      description: `Most ${what} to return`,
      schema: { ...int(1, MAX_HISTORY), default: 100 },
    },
  ];
}

/** What a route paging through an id's log refuses with a 400. */
const BAD_PAGE = errorResponse("An invalid id, `after` or `limit`", [
  ...URL_CODES,
  "invalid_id",
  "invalid_parameter",
]);

const CONDITION_SUMMARIES: Readonly<Record<(typeof ACTIONS)[number], string>> = {
  acknowledge: "Acknowledge a condition (an operator has seen it)",
  shelve: "Shelve a condition: hide it for a while (a reason is required)",
  unshelve: "Unshelve a condition before its time",
  clear: "Clear a condition: it returned to normal (the publisher)",
};

/** What each action can meet in a condition's state (`core/condition.ts`). */
const CONFLICTS: Readonly<Record<(typeof ACTIONS)[number], string[]>> = {
  acknowledge: ["not_unacknowledged"],
  shelve: ["not_in_list", "already_shelved", "not_active"],
  unshelve: ["not_shelved"],
  clear: ["not_active"],
};

/**
 * Every route, in the order `/openapi.json` lists them. Each method's handler runs after the
 * path matched, the API key (`auth`) and the method: it checks its own params and query.
 */
export const ROUTES: readonly Route<Operation>[] = [
  {
    path: "/api/alarms/{id}",
    auth: "apiKey",
    methods: {
      POST: {
        handle: publishTo,
        doc: (
          { publishDown, publishFull, bodyErrors, api, jsonBody, idempotency, publishCodes },
        ) => ({
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
            ...bodyErrors(["invalid_id", ...publishCodes], true),
            ...publishFull,
            "503": publishDown,
          },
        }),
      },
      GET: {
        handle: (ctx) => history(ctx.deps.hub, checkId(param(ctx, "id")), ctx.url.searchParams),
        doc: ({ unauthorized, storeDown, api }) => ({
          operationId: "history",
          tags: ["publishing"],
          summary: "The stored alarms of an id, oldest first",
          ...api,
          parameters: pageParams("alarms"),
          responses: {
            "200": jsonOk("The alarms after `after`, and the id's last seq", ref("History")),
            "400": BAD_PAGE,
            ...unauthorized,
            "503": storeDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/alarms",
    auth: "apiKey",
    methods: {
      POST: {
        handle: async (ctx) =>
          publishMany(ctx.deps.hub, await body(ctx), ctx.req.headers, ctx.deps.now()),
        doc: (
          { publishDown, publishFull, bodyErrors, api, jsonBody, idempotency, publishCodes },
        ) => ({
          operationId: "publishMany",
          tags: ["publishing"],
          summary: "Publish one alarm to several ids",
          description: "Each target gets its own seq; all share `id` and `createTime`.",
          ...api,
          parameters: [idempotency],
          requestBody: jsonBody(ref("PublishManyRequest")),
          responses: {
            "202": jsonOk(
              "Stored for every target (but any in `refused`), then delivered",
              ref("PublishedMany"),
            ),
            ...bodyErrors(["invalid_id", "unknown_field", ...publishCodes], true),
            ...publishFull,
            "503": publishDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/broadcast",
    auth: "apiKey",
    methods: {
      POST: {
        handle: async (ctx) =>
          publishBroadcast(ctx.deps.hub, await body(ctx), ctx.req.headers, ctx.deps.now()),
        doc: (
          { publishDown, publishFull, bodyErrors, api, jsonBody, idempotency, publishCodes },
        ) => ({
          operationId: "broadcast",
          tags: ["publishing"],
          summary: "Publish one alarm to every id that has a session anywhere",
          ...api,
          parameters: [idempotency],
          requestBody: jsonBody(ref("AlarmInput")),
          responses: {
            "202": jsonOk(
              "Stored for every id online (but any in `refused`), then delivered",
              ref("PublishedMany"),
            ),
            ...bodyErrors(publishCodes, true),
            ...publishFull,
            "503": publishDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/tokens",
    auth: "apiKey",
    methods: {
      POST: {
        handle: async (ctx) => issueToken(ctx.deps.gate.keys, await body(ctx), ctx.deps.now()),
        doc: ({ tokens, bodyErrors, api, jsonBody }) => ({
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
            ...bodyErrors(["invalid_field", "unknown_field"]),
          },
        }),
      },
    },
  },
  {
    path: "/api/sessions",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) => allSessions(ctx.deps.hub),
        doc: ({ badUrl, unauthorized, storeDown, api }) => ({
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
        }),
      },
    },
  },
  {
    path: "/api/sessions/{id}",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) => sessionsOf(ctx.deps.hub, checkId(param(ctx, "id"))),
        doc: ({ unauthorized, storeDown, api }) => ({
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
        }),
      },
    },
  },
  {
    path: "/healthz",
    methods: {
      GET: {
        handle: (ctx) => health(ctx.deps.hub, ctx.deps.closing()),
        doc: ({ badUrl }) => ({
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
        }),
      },
    },
  },
  {
    path: "/metrics",
    methods: {
      GET: {
        handle: (ctx) => metricsText(ctx.deps.hub, ctx.deps.metrics),
        doc: ({ badUrl }) => ({
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
        }),
      },
    },
  },
  {
    path: "/openapi.json",
    methods: {
      GET: {
        handle: (ctx) => ctx.deps.openApi(),
        doc: ({ badUrl }) => ({
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
        }),
      },
    },
  },
  {
    path: "/websocket/{id}",
    stream: true,
    methods: {
      GET: {
        handle: (ctx) =>
          openSocket(ctx.req, param(ctx, "id"), ctx.url.searchParams, address(ctx), ctx.deps),
        doc: ({ tokens, origins }) => ({
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
            originParam(origins),
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
        }),
      },
    },
  },
  {
    path: "/api/policies",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) => listPolicies(ctx.deps.escalation),
        doc: ({ badUrl, unauthorized, storeDown, api }) => ({
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
        }),
      },
    },
  },
  {
    path: "/api/policies/{name}",
    auth: "apiKey",
    methods: {
      PUT: {
        handle: (ctx) => putPolicy(ctx.deps.escalation, param(ctx, "name"), () => body(ctx)),
        doc: ({ webhooks, storeDown, bodyErrors, api, jsonBody }) => ({
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
        }),
      },
      GET: {
        handle: (ctx) => getPolicy(ctx.deps.escalation, param(ctx, "name")),
        doc: ({ unauthorized, storeDown, api }) => ({
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
        }),
      },
      DELETE: {
        handle: (ctx) => deletePolicy(ctx.deps.escalation, param(ctx, "name")),
        doc: ({ unauthorized, storeDown, api }) => ({
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
        }),
      },
    },
  },
  {
    path: "/events/{id}",
    stream: true,
    cors: true,
    methods: {
      GET: {
        handle: (ctx) =>
          openStream(ctx.req, param(ctx, "id"), ctx.url.searchParams, address(ctx), ctx.deps),
        doc: ({ tokens, origins }) => ({
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
              schema: int(0),
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
        }),
      },
    },
  },
  {
    path: "/events",
    stream: true,
    cors: true,
    methods: {
      GET: {
        handle: (ctx) =>
          openStream(ctx.req, undefined, ctx.url.searchParams, address(ctx), ctx.deps),
        doc: ({ tokens, origins }) => ({
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
        }),
      },
    },
  },
  {
    path: "/api/acks/{id}",
    cors: true,
    methods: {
      POST: {
        handle: ack,
        doc: ({ tokens, origins, storeDown, jsonBody, keyOrToken, byKeyOrToken, smallBody }) => ({
          operationId: "acknowledge",
          tags: ["events"],
          summary: "Acknowledge an id's alarms up to a seq (clients without a socket)",
          description: "Takes the API key or a connection token covering the id " +
            "(`Authorization: Bearer` or `?token=`); the record a v1 socket's `ack` writes.",
          ...byKeyOrToken,
          requestBody: jsonBody(ref("AckRequest")),
          responses: {
            "200": jsonOk("Recorded (a lower seq than recorded changes nothing)", ref("Acked")),
            "400": errorResponse(
              "The body is not one JSON object within the limits, or a field is invalid",
              [...URL_CODES, ...BODY_CODES, "invalid_id", "invalid_field", "unknown_field"],
            ),
            "409": errorResponse(
              "The seq is beyond the id's last, or beyond what the named session received",
              ["invalid_ack"],
            ),
            ...keyOrToken,
            ...forbidden(tokens, origins),
            ...smallBody,
            "503": storeDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/conditions/{id}",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) =>
          listConditions(
            ctx.deps.hub,
            checkId(param(ctx, "id")),
            ctx.url.searchParams,
            ctx.deps.now(),
          ),
        doc: ({ unauthorized, storeDown, api }) => ({
          operationId: "listConditions",
          tags: ["conditions"],
          summary: "An id's conditions: the active list (shelved ones too), latest raise first",
          ...api,
          parameters: [
            {
              name: "state",
              in: "query",
              description: "Only these: a state, `shelved` (now), or `all` (normal ones too)",
              schema: {
                enum: [...CONDITION_STATES, "shelved", "all"],
              },
            },
            {
              name: "level",
              in: "query",
              description:
                "Only those whose latest alarm has this level: its `level`, else its `severity`, in any case; empty: those with neither",
              schema: { type: "string" },
            },
          ],
          responses: {
            "200": jsonOk("The conditions", ref("ConditionList")),
            "400": errorResponse("An invalid id or filter", [
              ...URL_CODES,
              "invalid_id",
              "invalid_parameter",
            ]),
            ...unauthorized,
            "503": storeDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/conditions/{id}/{key}",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) => showCondition(ctx.deps.hub, checkId(param(ctx, "id")), param(ctx, "key")),
        doc: ({ unauthorized, storeDown, api }) => ({
          operationId: "showCondition",
          tags: ["conditions"],
          summary: "One condition, with its raises and transitions still in the log",
          ...api,
          responses: {
            "200": jsonOk("The condition and its history", ref("ConditionWithHistory")),
            "400": errorResponse("An invalid id or key", [
              ...URL_CODES,
              "invalid_id",
              "invalid_key",
            ]),
            ...unauthorized,
            "404": errorResponse("The id has no such condition", ["unknown_condition"]),
            "503": storeDown,
          },
        }),
      },
    },
  },
  ...ACTIONS.map(conditionRoute),
  {
    path: "/api/performance/{id}",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) => alarmPerformance(ctx.deps.hub, checkId(param(ctx, "id"))),
        doc: ({ unauthorized, storeDown, api }) => ({
          operationId: "alarmPerformance",
          tags: ["conditions"],
          summary: "How an id's alarm system is doing (ISA-18.2): floods, chattering, stale, " +
            "shelved and the most frequent conditions",
          ...api,
          responses: {
            "200": jsonOk("The id's figures", ref("AlarmPerformance")),
            "400": errorResponse("An invalid id", [...URL_CODES, "invalid_id"]),
            ...unauthorized,
            "503": storeDown,
          },
        }),
      },
    },
  },
  {
    path: "/api/transitions/{id}",
    auth: "apiKey",
    methods: {
      GET: {
        handle: (ctx) =>
          listTransitions(ctx.deps.hub, checkId(param(ctx, "id")), ctx.url.searchParams),
        doc: ({ unauthorized, storeDown, api }) => ({
          operationId: "listTransitions",
          tags: ["conditions"],
          summary: "The changes of an id's conditions, oldest first: who did what when",
          description: "Acknowledgements, shelvings, unshelvings, clears and expiries, with " +
            "their comments, as the log keeps them; `scanned` is where the next page starts.",
          ...api,
          parameters: pageParams("changes", " (the last page's `scanned`)"),
          responses: {
            "200": jsonOk("The changes after `after`", ref("Transitions")),
            "400": BAD_PAGE,
            ...unauthorized,
            "503": storeDown,
          },
        }),
      },
    },
  },
  ...ASSETS.map(assetRoute),
];
