/**
 * `/api/conditions/{id}[/{key}[/{action}]]`: an id's alarm conditions (`core/condition.ts`) over
 * HTTP, and `/api/performance/{id}`, how its alarm system is doing (`core/alarm_rates.ts`). Listing and reading take the API key; acting (acknowledge, shelve, unshelve) takes the
 * API key or a connection token for the id, like acks, so a console never holds the key; clearing
 * is the publisher's, with the API key.
 *
 * @module
 */
import {
  ACTIONS,
  actorOf,
  type Alarm,
  ANONYMOUS_ACTOR,
  API_ACTOR,
  type Condition,
  CONDITION_STATES,
  type ConditionState,
  decodeAction,
  inActiveList,
  isJsonObject,
  isShelved,
  isStoredKey,
  levelOf,
  MAX_KEY_LENGTH,
  quote,
  unknownCondition,
} from "../core/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import { type AckDeps, authorize } from "./acks.ts";
import { readJsonObject } from "./body.ts";
import { HttpError, jsonResponse } from "./errors.ts";
import { oneParam, pageOf } from "./request.ts";

/** Entries of a condition's history returned at most (newest kept). */
export const MAX_CONDITION_HISTORY = 100;

/**
 * `GET /api/conditions/{id}`: the active list, or the conditions in `?state=`, of `?level=` (as
 * the console reads a level: `level`, else `severity`, in any case).
 */
export async function listConditions(
  hub: Hub,
  id: string,
  params: URLSearchParams,
  now: number,
): Promise<Response> {
  const state = oneParam(params, "state");
  if (state !== null && state !== "shelved" && state !== "all" && !isState(state)) {
    throw new HttpError(
      400,
      "invalid_parameter",
      `Parameter "state" must be one of ${
        [...CONDITION_STATES, "shelved", "all"].map((s) => quote(s)).join(", ")
      }`,
    );
  }
  const level = oneParam(params, "level")?.toLowerCase();
  const conditions = (await hub.conditions(id)).filter((c) =>
    (state === null
      ? inActiveList(c.state)
      : state === "all" || (state === "shelved" ? isShelved(c, now) : c.state === state)) &&
    (level === undefined || levelOf(c.alarm) === level)
  );
  return jsonResponse({ id, conditions: conditions.sort(byLastTime) });
}

/** The id's latest log entries searched at most for a condition's history, and per read. */
export const CONDITION_HISTORY_SCAN = 10_000;
const HISTORY_PAGE = 1_000;

/**
 * `GET /api/conditions/{id}/{key}`: one condition, with its latest entries (raises and changes)
 * among the id's latest {@linkcode CONDITION_HISTORY_SCAN} in the log, oldest first.
 */
export async function showCondition(hub: Hub, id: string, rawKey: string): Promise<Response> {
  const key = checkKey(rawKey);
  const [condition, head] = await Promise.all([hub.condition(id, key), hub.head(id)]);
  if (condition === undefined) throw unknown(id, key);
  const ofKey = (entry: Alarm) =>
    entry.key === key ||
    (isJsonObject(entry.transition) && entry.transition.key === key);
  // Newest pages first, so a long log still shows what happened last.
  const pages: Alarm[][] = [];
  let found = 0;
  for (let end = head; end > Math.max(0, head - CONDITION_HISTORY_SCAN);) {
    const from = Math.max(0, end - HISTORY_PAGE);
    const { alarms } = await hub.history(id, from, end - from);
    // Past the oldest entry kept, a read starts at that entry: only this page's own count.
    const matching = alarms.filter((entry) => entry.seq <= end && ofKey(entry));
    pages.unshift(matching);
    found += matching.length;
    if (found >= MAX_CONDITION_HISTORY || (alarms[0]?.seq ?? Infinity) > from + 1) break;
    end = from;
  }
  const history = pages.flat().slice(-MAX_CONDITION_HISTORY);
  return jsonResponse({ ...condition, history });
}

/**
 * `GET /api/transitions/{id}?after=&limit=`: the changes of `id`'s conditions after seq `after`,
 * oldest first, at most `limit` (the audit trail: who did what when, with the comment), found
 * among at most {@linkcode CONDITION_HISTORY_SCAN} entries of the log; `scanned` is where the
 * next page starts (`after`).
 */
export async function listTransitions(
  hub: Hub,
  id: string,
  params: URLSearchParams,
): Promise<Response> {
  const { after, limit } = pageOf(params);
  const transitions: Alarm[] = [];
  let scanned = after;
  let head = 0;
  for (let read = 0; read < CONDITION_HISTORY_SCAN && transitions.length < limit;) {
    const { seq, alarms } = await hub.history(id, scanned, HISTORY_PAGE);
    head = seq;
    if (alarms.length === 0) {
      scanned = Math.max(scanned, seq); // nothing after it: caught up
      break;
    }
    for (const entry of alarms) {
      scanned = entry.seq;
      if (entry.transition !== undefined && transitions.push(entry) === limit) break;
    }
    read += alarms.length;
  }
  return jsonResponse({ id, seq: head, scanned, transitions });
}

/** `GET /api/performance/{id}`: floods, chattering, stale and shelved conditions of `id`. */
export async function alarmPerformance(hub: Hub, id: string): Promise<Response> {
  return jsonResponse({ id, ...await hub.performance(id) });
}

/** What {@linkcode actOnCondition} needs besides acks' own. */
export interface ActDeps extends AckDeps {
  /** Longest a shelving may last (`MAX_SHELVE_SECONDS`). */
  maxShelveSeconds: number;
}

/** `POST /api/conditions/{id}/{key}/{action}`: changes the condition, answers its new state. */
export async function actOnCondition(
  req: Request,
  id: string,
  rawKey: string,
  action: (typeof ACTIONS)[number],
  params: URLSearchParams,
  deps: ActDeps,
): Promise<Response> {
  const key = checkKey(rawKey);
  const caller = await authorize(req, id, params, deps).catch((error) => {
    // No token could clear: what is missing is the API key, whatever tokens are on (unless it
    // came with a token, which is what to say then).
    if (
      action === "clear" && deps.auth !== undefined && error instanceof HttpError &&
      error.status === 401 && error.code !== "two_tokens"
    ) {
      throw new HttpError(401, "unauthorized", "Clearing a condition takes the API key", {
        "www-authenticate": 'Bearer realm="alarmcast"',
      });
    }
    throw error;
  });
  if (action === "clear" && !caller.byKey && deps.auth !== undefined) {
    throw new HttpError(403, "forbidden", "Only the publisher (the API key) clears a condition");
  }
  const body = await readJsonObject(req, deps.maxBodyBytes);
  const grant = caller.byKey ? undefined : caller.grant;
  const actor = {
    subject: grant && actorOf(grant),
    fallback: caller.byKey ? API_ACTOR : ANONYMOUS_ACTOR,
  };
  const change = decodeAction(action, body, actor, deps.now(), deps.maxShelveSeconds);
  const { seq, condition } = await deps.hub.change(id, key, change);
  return jsonResponse({ id, key, seq, condition });
}

/** The key of a path segment (percent-encoded: keys may hold `/`), or a 400. */
export function checkKey(raw: string): string {
  let key: string | undefined;
  try {
    key = decodeURIComponent(raw);
  } catch {
    key = undefined;
  }
  if (!isStoredKey(key)) {
    throw new HttpError(
      400,
      "invalid_key",
      `Key ${quote(raw)} must be 1 to ${MAX_KEY_LENGTH} printable characters, percent-encoded`,
    );
  }
  return key;
}

function unknown(id: string, key: string): HttpError {
  return new HttpError(404, "unknown_condition", unknownCondition(id, key));
}

function isState(state: string): state is ConditionState {
  return (CONDITION_STATES as readonly string[]).includes(state);
}

// Most recent first, as an operator reads the list (the latest change first at the same time).
function byLastTime(a: Condition, b: Condition): number {
  return b.lastTime - a.lastTime || b.seq - a.seq;
}
