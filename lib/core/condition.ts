/**
 * Alarm conditions (ISA-18.2 / IEC 62682, OPC UA Part 9): an alarm published with a `key` raises
 * the condition (id, key), which then has a state until operators and the publisher have dealt
 * with it. The states, and every transition between them, are declared here once, as pure
 * functions: the store applies them in one atomic commit, the console shows what they return.
 *
 * | state                    | active | acknowledged | in the active list |
 * | ------------------------ | ------ | ------------ | ------------------ |
 * | `active-unacknowledged`  | yes    | no           | yes                |
 * | `active-acknowledged`    | yes    | yes          | yes                |
 * | `cleared-unacknowledged` | no     | no           | yes                |
 * | `normal`                 | no     | yes          | no                 |
 *
 * Shelving is orthogonal (as in OPC UA): a shelved condition keeps its state, is hidden from the
 * active list and doesn't escalate, until it is unshelved, its time runs out, or (when shelved
 * until cleared) it clears.
 *
 * @module
 */
import { type Alarm, fitsCharacters, isPrintable } from "./alarm.ts";
import { Conflict, InvalidInput, NotFound, refuseUnknownFields } from "./errors.ts";
import { quote } from "./ids.ts";
import type { JsonObject } from "./json.ts";
import { isBlank, isMisleadingName, misleadingNamePattern } from "./visible.ts";

/** Every state of a condition (shelving aside), in the order of the table above. */
export const CONDITION_STATES = [
  "active-unacknowledged",
  "active-acknowledged",
  "cleared-unacknowledged",
  "normal",
] as const;

/** A condition's state (shelving aside). */
export type ConditionState = typeof CONDITION_STATES[number];

/** What an operator or the publisher does to a condition. */
export type ConditionAction = "raise" | "clear" | "acknowledge" | "shelve" | "unshelve" | "expire";

/** A shelving: who, why, and until when. */
export interface Shelving {
  /** Epoch ms the shelving ends by itself. */
  until: number;
  reason: string;
  by: string;
  /** Epoch ms it was shelved. */
  at: number;
  /** Also ends when the condition clears (a one-shot shelve). */
  untilCleared: boolean;
}

/** One condition as stored and as clients see it. */
export interface Condition {
  /** The id (target) it belongs to. */
  id: string;
  /** The publisher's key. */
  key: string;
  state: ConditionState;
  shelved?: Shelving;
  /** Raises since it last became active from normal (a repeat adds one). */
  count: number;
  /** Epoch ms of the first and the last raise of this episode. */
  firstTime: number;
  lastTime: number;
  /** The latest raise's alarm (its fields, `seq`, `target`). */
  alarm: JsonObject;
  /** Seq of the latest raise (what escalation and acks refer to). */
  raiseSeq: number;
  /** Seq of the raise that started this episode (from normal): its deadline is the episode's. */
  firstSeq: number;
  /** Seq of the last transition of any kind, on the id's log. */
  seq: number;
  /** Epoch ms of the last raises (at most 3), for chattering. */
  recent: number[];
  /** Who acknowledged this episode, and when. */
  acknowledged?: { by: string; at: number };
  /** Epoch ms it returned to normal by its publisher (cleared), while unacknowledged or later. */
  clearedAt?: number;
}

/** A request to change a condition, as validated at the edge. */
export type ConditionChange =
  | { action: "raise"; alarm: JsonObject }
  | { action: "clear"; by: string; comment?: string }
  | { action: "acknowledge"; by: string; comment?: string }
  | {
    action: "shelve";
    by: string;
    reason: string;
    until: number;
    untilCleared: boolean;
    comment?: string;
  }
  | { action: "unshelve"; by: string; comment?: string }
  | { action: "expire" };

/** A transition that was refused: the condition's state doesn't allow it. */
export interface ConditionRefusal {
  code:
    | "not_active"
    | "not_unacknowledged"
    | "not_in_list"
    | "already_shelved"
    | "not_shelved"
    | "not_due";
  message: string;
}

/** The outcome of {@linkcode applyChange}. */
export type ConditionOutcome = { ok: true; condition: Condition } | {
  ok: false;
  refusal: ConditionRefusal;
};

/** Raises within this window, this many or more, make a condition chattering. */
export const CHATTER_WINDOW_MS = 60_000;
/** See {@linkcode CHATTER_WINDOW_MS}. */
export const CHATTER_RAISES = 3;
/** Active this long and still not normal: stale. */
export const STALE_MS = 24 * 3600_000;

/** What is said of a condition never raised, by every route that meets one. */
export function unknownCondition(id: string, key: string): string {
  return `Id ${quote(id)} has no condition ${quote(key)}`;
}

/** Whether a condition in `state` is in the active list (before shelving). */
export function inActiveList(state: ConditionState): boolean {
  return state !== "normal";
}

/** Conditions an id's active list may hold unless configured otherwise (`MAX_CONDITIONS`). */
export const DEFAULT_MAX_CONDITIONS = 1_000;

/**
 * How a change moves its id's count of conditions in the active list: 1 when it enters (a raise
 * of a condition never raised or back to normal), -1 when it leaves (back to normal), else 0.
 */
export function listDelta(before: Condition | undefined, after: Condition): -1 | 0 | 1 {
  const was = before !== undefined && inActiveList(before.state);
  const is = inActiveList(after.state);
  return was === is ? 0 : is ? 1 : -1;
}

/**
 * The refusal of a raise that would put one condition more than `max` in `id`'s active list:
 * every store refuses it alike, so a publisher inventing keys can't grow what every client
 * connecting to the id is sent.
 */
export function tooManyConditions(id: string, max: number): Conflict {
  // The limit, not a count: during an upgrade from before 0.8 a list may hold a few more.
  return new Conflict(
    "too_many_conditions",
    `Id ${
      quote(id)
    } holds the most conditions its active list may (${max}) until some return to normal`,
  );
}

/**
 * Applies `change` to `current` (undefined: never raised) at `now`, with the seq the transition
 * gets on the id's log. Pure: returns the new condition or why it can't change.
 */
export function applyChange(
  current: Condition | undefined,
  change: ConditionChange,
  now: number,
  id: string,
  key: string,
  seq: number,
): ConditionOutcome {
  if (change.action === "raise") {
    return { ok: true, condition: raise(current, change.alarm, now, id, key, seq) };
  }
  if (current === undefined) {
    return refuse("not_in_list", unknownCondition(id, key));
  }
  const next: Condition = { ...current, seq };
  switch (change.action) {
    case "clear": {
      if (!current.state.startsWith("active-")) {
        return refuse("not_active", `Condition ${quote(key)} is not active`);
      }
      next.state = current.state === "active-acknowledged" ? "normal" : "cleared-unacknowledged";
      next.clearedAt = now;
      if (current.shelved?.untilCleared || next.state === "normal") delete next.shelved;
      return { ok: true, condition: next };
    }
    case "acknowledge": {
      if (current.state === "active-unacknowledged") next.state = "active-acknowledged";
      else if (current.state === "cleared-unacknowledged") next.state = "normal";
      else {
        return refuse("not_unacknowledged", `Condition ${quote(key)} is not unacknowledged`);
      }
      next.acknowledged = { by: change.by, at: now };
      if (next.state === "normal") delete next.shelved;
      return { ok: true, condition: next };
    }
    case "shelve": {
      if (!inActiveList(current.state)) {
        return refuse("not_in_list", `Condition ${quote(key)} is normal: nothing to shelve`);
      }
      if (current.shelved && current.shelved.until > now) {
        return refuse("already_shelved", `Condition ${quote(key)} is already shelved`);
      }
      // Until it clears, when it has cleared already, would only ever end by its time.
      if (change.untilCleared && current.state === "cleared-unacknowledged") {
        return refuse(
          "not_active",
          `Condition ${quote(key)} has cleared: shelve it for a time, without "untilCleared"`,
        );
      }
      next.shelved = {
        until: change.until,
        reason: change.reason,
        by: change.by,
        at: now,
        untilCleared: change.untilCleared,
      };
      return { ok: true, condition: next };
    }
    case "unshelve":
    case "expire": {
      if (!current.shelved) return refuse("not_shelved", `Condition ${quote(key)} is not shelved`);
      if (change.action === "expire" && current.shelved.until > now) {
        return refuse("not_due", `Condition ${quote(key)} is shelved until later`);
      }
      delete next.shelved;
      return { ok: true, condition: next };
    }
  }
}

function raise(
  current: Condition | undefined,
  alarm: JsonObject,
  now: number,
  id: string,
  key: string,
  seq: number,
): Condition {
  const before = current?.recent ?? [];
  const recent = before.slice(Math.max(0, before.length + 1 - CHATTER_RAISES));
  recent.push(now);
  if (current === undefined || current.state === "normal") {
    return {
      id,
      key,
      state: "active-unacknowledged",
      count: 1,
      firstTime: now,
      lastTime: now,
      alarm,
      raiseSeq: seq,
      firstSeq: seq,
      seq,
      recent,
    };
  }
  // A repeat: one row, counted; an acknowledged active condition stays acknowledged, a cleared
  // one is active again (and still unacknowledged). Built field by field, in the first raise's
  // shape: a spread and a `delete` would leave V8 a slower object on every repeat.
  const next: Condition = {
    id,
    key,
    state: current.state === "active-acknowledged"
      ? "active-acknowledged"
      : "active-unacknowledged",
    count: current.count + 1,
    firstTime: current.firstTime,
    lastTime: now,
    alarm,
    raiseSeq: seq,
    firstSeq: current.firstSeq,
    seq,
    recent,
  };
  if (current.shelved !== undefined) next.shelved = current.shelved;
  if (current.acknowledged !== undefined) next.acknowledged = current.acknowledged;
  return next;
}

function refuse(code: ConditionRefusal["code"], message: string): ConditionOutcome {
  return { ok: false, refusal: { code, message } };
}

/** What a log entry carries of the condition it changed: all but the alarm and raise times. */
export type ConditionView = Omit<Condition, "alarm" | "recent">;

/** The view of `condition` a log entry carries. */
export function conditionView(c: Condition): ConditionView {
  // Field by field: a rest pattern takes V8's slow path, and this runs on every keyed raise.
  const view: ConditionView = {
    id: c.id,
    key: c.key,
    state: c.state,
    count: c.count,
    firstTime: c.firstTime,
    lastTime: c.lastTime,
    raiseSeq: c.raiseSeq,
    firstSeq: c.firstSeq,
    seq: c.seq,
  };
  if (c.shelved !== undefined) view.shelved = c.shelved;
  if (c.acknowledged !== undefined) view.acknowledged = c.acknowledged;
  if (c.clearedAt !== undefined) view.clearedAt = c.clearedAt;
  return view;
}

/**
 * Most characters (UTF-16 units) of its JSON an alarm a condition keeps may have: a KV value holds
 * 64 KiB, and a string takes at most 2 bytes per unit there.
 */
export const MAX_KEPT_ALARM = 20_000;

/**
 * The alarm a condition keeps of its latest raise (`length`: the units of its JSON): the alarm,
 * or when longer than `max` ({@linkcode MAX_KEPT_ALARM}) its `id`, `createTime`, `seq`,
 * `target`, `key`, `level`, `severity` and `ackBy` with `truncated: true` (the whole alarm stays
 * in the log).
 */
export function keptAlarm(alarm: JsonObject, length: number, max = MAX_KEPT_ALARM): JsonObject {
  if (length <= max) return alarm;
  const kept: JsonObject = { truncated: true };
  for (const name of ["id", "createTime", "seq", "target", "key", "level", "severity", "ackBy"]) {
    if (Object.hasOwn(alarm, name)) kept[name] = alarm[name];
  }
  return kept;
}

/**
 * Most characters of its alarm's JSON a condition brings in the snapshot a connecting client
 * gets: the list's rows need a few fields, and the snapshot goes out as one frame.
 */
export const MAX_SNAPSHOT_ALARM = 4_000;

/**
 * `condition` as a snapshot lists it: an alarm longer than {@linkcode MAX_SNAPSHOT_ALARM} as
 * {@linkcode keptAlarm} keeps it (the whole one is in `GET /api/conditions/{id}/{key}`).
 */
export function inSnapshot(condition: Condition): Condition {
  const length = JSON.stringify(condition.alarm).length;
  if (length <= MAX_SNAPSHOT_ALARM) return condition;
  return { ...condition, alarm: keptAlarm(condition.alarm, length, MAX_SNAPSHOT_ALARM) };
}

/**
 * The alarm a raise of `before`'s condition delivers: a repeat of an active episode starts no
 * deadline of its own, so where a policy stamped one (`ackBy`) it carries the episode's instead
 * (its first raise's, passed on by every repeat), or none.
 */
export function raisedAlarm(alarm: Alarm, before: Condition | undefined): Alarm {
  if (before === undefined || before.state === "normal" || alarm.ackBy === undefined) return alarm;
  const { ackBy: _stamped, ...rest } = alarm;
  const episode = before.alarm.ackBy;
  return episode === undefined ? rest : { ...rest, ackBy: episode };
}

/** Where a condition change comes from: the action, when, and the key it is for. */
export interface ConditionSpec {
  key: string;
  change: ConditionChange;
  /** Epoch ms of the change. */
  at: number;
}

/** What a transition's log entry says happened: the action, on which key, by whom, when. */
export interface Transition extends JsonObject {
  action: Exclude<ConditionAction, "raise">;
  key: string;
  /** Who: an operator's name, the token's subject, the publisher, or `system` (an expiry). */
  by: string;
  /** ISO-8601 time of the change. */
  at: string;
  comment?: string;
  reason?: string;
  /** ISO-8601 time a shelving ends by itself. */
  until?: string;
  untilCleared?: boolean;
}

/** The transition entry of `change` of `key` at epoch ms `at`. */
export function transitionOf(
  key: string,
  change: Exclude<ConditionChange, { action: "raise" }>,
  at: number,
): Transition {
  const transition: Transition = {
    action: change.action,
    key,
    by: change.action === "expire" ? SYSTEM_ACTOR : change.by,
    at: new Date(at).toISOString(),
  };
  if ("comment" in change && change.comment !== undefined) transition.comment = change.comment;
  if (change.action === "shelve") {
    transition.reason = change.reason;
    transition.until = new Date(change.until).toISOString();
    transition.untilCleared = change.untilCleared;
  }
  return transition;
}

/** What operators and publishers may ask for, by name (a raise is a publish with a key). */
export const ACTIONS = ["acknowledge", "shelve", "unshelve", "clear"] as const;

/** Longest `comment`, `reason` and `by`, in characters. */
export const MAX_COMMENT_LENGTH = 1000;
export const MAX_BY_LENGTH = 128;
/** Who the server's own changes (a shelving that runs out) are by; no caller may claim it. */
export const SYSTEM_ACTOR = "system";
/** Who acts with the API key and no `by`. */
export const API_ACTOR = "api";
/** Who acts with no credentials at all (an open server) and no `by`, over a socket or HTTP. */
export const ANONYMOUS_ACTOR = "anonymous";

/**
 * The names the server writes in the audit trail itself, which nobody may give: the server's own
 * changes, the API key holder's, and those of whoever acts without credentials.
 */
export const RESERVED_ACTORS: readonly string[] = [SYSTEM_ACTOR, API_ACTOR, ANONYMOUS_ACTOR];

/** The names {@linkcode isActorName} refuses, as a JSON Schema pattern can say (`/openapi.json`). */
export const RESERVED_ACTOR_PATTERN = misleadingNamePattern(RESERVED_ACTORS);

/**
 * Whether `value` may name who acts: 1 to 128 printable characters that pass for no other name in
 * the audit trail (none of {@linkcode RESERVED_ACTORS}: see {@linkcode isMisleadingName}).
 */
export function isActorName(value: unknown): value is string {
  return isPrintable(value, MAX_BY_LENGTH) && !isMisleadingName(value, RESERVED_ACTORS);
}

/**
 * `value` of the body's `field` naming who acts (`by`, a token's `name`), if given; throws
 * {@linkcode InvalidInput} unless it {@linkcode isActorName}.
 */
export function actorNameOf(field: string, value: unknown): string | undefined {
  if (value === undefined || isActorName(value)) return value;
  throw new InvalidInput(
    "invalid_field",
    `Field ${quote(field)} must be 1 to ${MAX_BY_LENGTH} printable characters that pass for no ` +
      `other name: no space at either end, no invisible character, not ${
        RESERVED_ACTORS.map((name) => quote(name)).join(", ")
      } in any form, no word mixing Latin with look-alike letters`,
  );
}

/** Who acts on a condition: a token's subject, or whoever the caller names (else `fallback`). */
export interface Actor {
  /** The subject of the connection token the request came with; a `by` is then refused. */
  subject?: string | undefined;
  /** Who acts when nobody is named (`api` for the API key, `anonymous` without credentials). */
  fallback: string;
}

const ACTION_FIELDS = new Set(["by", "comment"]);
const SHELVE_FIELDS = new Set([...ACTION_FIELDS, "reason", "durationSeconds", "untilCleared"]);

/**
 * Reads an action from `body` (an HTTP body or a v1 message's other fields): `by` (who, unless a
 * token says), `comment` (optional), for a shelve `reason` (required) and `durationSeconds`
 * (1 to `maxShelveSeconds`; optional with `untilCleared: true`, which then lasts at most that
 * long). Throws {@linkcode InvalidInput} naming the field.
 */
export function decodeAction(
  action: (typeof ACTIONS)[number],
  body: JsonObject,
  actor: Actor,
  now: number,
  maxShelveSeconds: number,
): Exclude<ConditionChange, { action: "raise" | "expire" }> {
  refuseUnknownFields(body, action === "shelve" ? SHELVE_FIELDS : ACTION_FIELDS);
  const named = actorNameOf("by", text(body, "by", MAX_BY_LENGTH));
  if (named !== undefined && actor.subject !== undefined) {
    throw new InvalidInput("invalid_field", `Field "by" is set from the connection token`);
  }
  const by = actor.subject ?? named ?? actor.fallback;
  const comment = text(body, "comment", MAX_COMMENT_LENGTH);
  const base = comment === undefined ? { by } : { by, comment };
  if (action !== "shelve") return { action, ...base };
  const reason = text(body, "reason", MAX_COMMENT_LENGTH);
  if (reason === undefined) {
    throw new InvalidInput("invalid_field", `Field "reason" is required to shelve`);
  }
  // Required means something to read in the audit trail: spaces or control characters say nothing.
  if (isBlank(reason)) {
    throw new InvalidInput("invalid_field", `Field "reason" must say why, not be blank`);
  }
  const { durationSeconds, untilCleared = false } = body;
  if (typeof untilCleared !== "boolean") {
    throw new InvalidInput("invalid_field", `Field "untilCleared" must be a boolean`);
  }
  if (durationSeconds === undefined && !untilCleared) {
    throw new InvalidInput("invalid_field", `Field "durationSeconds" is required to shelve`);
  }
  const seconds = durationSeconds === undefined ? maxShelveSeconds : durationSeconds;
  if (
    typeof seconds !== "number" || !Number.isSafeInteger(seconds) || seconds < 1 ||
    seconds > maxShelveSeconds
  ) {
    throw new InvalidInput(
      "invalid_field",
      `Field "durationSeconds" must be an integer from 1 to ${maxShelveSeconds}`,
    );
  }
  return { action, ...base, reason, until: now + seconds * 1000, untilCleared };
}

// An optional string field of 1 to `max` characters (code points), valid Unicode, trimmed of
// nothing; line breaks are the writer's business.
function text(body: JsonObject, name: string, max: number): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !fitsCharacters(value, max)) {
    throw new InvalidInput(
      "invalid_field",
      `Field ${quote(name)} must be a string of 1 to ${max} characters`,
    );
  }
  return value;
}

/** The error a refusal is: `NotFound` for a key never raised, `Conflict` for the rest. */
export function refusalError(refusal: ConditionRefusal, ever: boolean): Conflict | NotFound {
  return ever
    ? new Conflict(refusal.code, refusal.message)
    : new NotFound("unknown_condition", refusal.message);
}

/**
 * Whether the condition has been back to normal longer than `retentionMs` at `now`: its record
 * is forgotten then (it expires with the log's entries of it).
 */
export function isForgotten(condition: Condition, now: number, retentionMs: number): boolean {
  if (condition.state !== "normal") return false;
  const since = Math.max(condition.acknowledged?.at ?? 0, condition.clearedAt ?? 0);
  return now - since > retentionMs;
}

/** Whether the condition is shelved at `now`. */
export function isShelved(condition: Condition, now: number): boolean {
  return condition.shelved !== undefined && condition.shelved.until > now;
}

/** Whether the condition raised `CHATTER_RAISES` times within `CHATTER_WINDOW_MS`, as of `now`. */
export function isChattering(condition: Condition, now: number): boolean {
  const { recent } = condition;
  return recent.length >= CHATTER_RAISES && now - recent[0]! <= CHATTER_WINDOW_MS &&
    recent.at(-1)! - recent[0]! <= CHATTER_WINDOW_MS;
}

/** Whether the condition has been active for more than `STALE_MS` as of `now`. */
export function isStale(condition: Condition, now: number): boolean {
  return condition.state.startsWith("active-") && now - condition.firstTime > STALE_MS;
}
