/**
 * The `/api/` routes, behind the API key: publishing, history, tokens, sessions and escalation
 * policies.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Escalation } from "../escalation/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import type { Gate } from "./access.ts";
import { readJsonObject } from "./body.ts";
import { history, publishBroadcast, publishMany, publishOne } from "./publish.ts";
import { allow, checkId, notFound } from "./request.ts";
import { policyRoute } from "./policies.ts";
import { allSessions, sessionsOf } from "./status.ts";
import { issueToken } from "./tokens.ts";

/** What the API routes need. */
export interface ApiDeps {
  hub: Hub;
  escalation: Escalation;
  gate: Gate;
  config: Config;
  now: () => number;
}

/** Routes `/api/{resource}[/{id}]` (auth already checked). */
export async function apiRoute(req: Request, url: URL, deps: ApiDeps): Promise<Response> {
  const { hub, gate, config, now } = deps;
  const [, , resource, id, ...rest] = url.pathname.split("/");
  if (rest.length > 0) throw notFound(url.pathname);
  const body = () => readJsonObject(req, config.maxBodyBytes);
  if (resource === "alarms" && id === undefined) {
    allow(req, "POST");
    return publishMany(hub, await body(), req.headers, now());
  }
  if (resource === "alarms" && id !== undefined) {
    const target = checkId(id);
    if (req.method === "GET") return history(hub, target, url.searchParams);
    allow(req, "POST", "GET, POST");
    return publishOne(hub, target, await body(), req.headers, now());
  }
  if (resource === "broadcast" && id === undefined) {
    allow(req, "POST");
    return publishBroadcast(hub, await body(), req.headers, now());
  }
  if (resource === "tokens" && id === undefined) {
    allow(req, "POST");
    return issueToken(gate.keys, await body(), now());
  }
  if (resource === "policies") {
    return policyRoute(req, id, deps.escalation, body);
  }
  if (resource === "sessions") {
    allow(req, "GET");
    return id === undefined ? allSessions(hub) : sessionsOf(hub, checkId(id));
  }
  throw notFound(url.pathname);
}
