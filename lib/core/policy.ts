/**
 * Escalation policies: which alarms must be acknowledged within how long, and what happens when
 * nobody does (an `escalation` alarm to other ids, a webhook, or both, optionally repeated).
 * Decoding is pure and strict, so a policy that is stored is one the scheduler can act on.
 *
 * @module
 */
import { InvalidInput, refuseUnknownFields } from "./errors.ts";
import { isValidId, quote } from "./ids.ts";
import { isJsonObject, type JsonObject } from "./json.ts";

/** An escalation policy as stored and as the API shows it. */
export interface Policy {
  /** The policy's name: an id (`A-Z a-z 0-9 _ . : -`). */
  name: string;
  /** Which alarms it covers: by target id (exact or prefix) and, if given, by level. */
  match: PolicyMatch;
  /** Seconds after publishing by which a session of the target must acknowledge the alarm. */
  ackWithinSeconds: number;
  /** Ids that get an `escalation` alarm when the deadline passes (may be empty with a webhook). */
  escalateTo: string[];
  /** A URL POSTed to when the deadline passes; its origin must be allowed by configuration. */
  webhook?: string;
  /** Escalate again every `everySeconds`, `times` more times, while still unacknowledged. */
  repeat?: { everySeconds: number; times: number };
}

/** The alarms a policy covers. */
export interface PolicyMatch {
  /** Target ids matched exactly. */
  ids: string[];
  /** Target id prefixes. */
  prefixes: string[];
  /** Levels (lower case); empty: any level. */
  levels: string[];
}

/** Most policies a store holds. */
export const MAX_POLICIES = 100;
/** Most ids, prefixes, levels or escalation targets in one policy. */
export const MAX_POLICY_LIST = 100;
/** Longest deadline or repeat interval, in seconds (7 days). */
export const MAX_POLICY_SECONDS = 7 * 86_400;
/** Most repeats of one escalation. */
export const MAX_REPEATS = 100;
const MAX_WEBHOOK_LENGTH = 2048;
const MAX_LEVEL_LENGTH = 64;
const PREFIX = /^[A-Za-z0-9_.:-]{1,128}$/;

const FIELDS = new Set(["match", "ackWithinSeconds", "escalateTo", "webhook", "repeat"]);
const MATCH_FIELDS = new Set(["ids", "prefixes", "levels"]);
const REPEAT_FIELDS = new Set(["everySeconds", "times"]);

/**
 * Validates the body of `PUT /api/policies/{name}`. `allowWebhook` says whether a webhook URL
 * may be called (its origin is in the configured allowlist). Throws {@linkcode InvalidInput}
 * naming the field.
 */
export function decodePolicy(
  name: string,
  body: JsonObject,
  allowWebhook: (url: URL) => boolean,
): Policy {
  if (!isValidId(name)) {
    throw new InvalidInput("invalid_id", `Policy name ${quote(name)} is not a valid id`);
  }
  refuseUnknownFields(body, FIELDS);
  const match = body.match;
  if (!isJsonObject(match)) throw invalid(`Field "match" must be an object`);
  refuseUnknownFields(match, MATCH_FIELDS, "match.");
  const ids = list(match.ids, "match.ids", isValidId, "ids");
  const prefixes = list(match.prefixes, "match.prefixes", (p) => PREFIX.test(p), "id prefixes");
  const levels = [
    ...new Set(
      list(
        match.levels,
        "match.levels",
        (l) => l.length >= 1 && [...l].length <= MAX_LEVEL_LENGTH, // characters, not UTF-16 units
        `strings of 1 to ${MAX_LEVEL_LENGTH} characters`,
      ).map((l) => l.toLowerCase()),
    ),
  ];
  if (ids.length === 0 && prefixes.length === 0) {
    throw invalid(`Field "match" must name at least one id or prefix`);
  }
  const ackWithinSeconds = seconds(body.ackWithinSeconds, "ackWithinSeconds");
  const escalateTo = list(body.escalateTo, "escalateTo", isValidId, "ids");
  const policy: Policy = {
    name,
    match: { ids, prefixes, levels },
    ackWithinSeconds,
    escalateTo,
  };
  if (body.webhook !== undefined) policy.webhook = webhook(body.webhook, allowWebhook);
  if (escalateTo.length === 0 && policy.webhook === undefined) {
    throw invalid(`A policy needs "escalateTo" ids, a "webhook", or both`);
  }
  if (body.repeat !== undefined) {
    const repeat = body.repeat;
    if (!isJsonObject(repeat)) throw invalid(`Field "repeat" must be an object`);
    refuseUnknownFields(repeat, REPEAT_FIELDS, "repeat.");
    const times = repeat.times;
    if (
      typeof times !== "number" || !Number.isSafeInteger(times) || times < 1 || times > MAX_REPEATS
    ) {
      throw invalid(`Field "repeat.times" must be an integer from 1 to ${MAX_REPEATS}`);
    }
    policy.repeat = { everySeconds: seconds(repeat.everySeconds, "repeat.everySeconds"), times };
  }
  return policy;
}

/** Whether `policy` covers an alarm published to `target` with `level` (its `levelOf`). */
export function policyMatches(policy: Policy, target: string, level: string): boolean {
  const { ids, prefixes, levels } = policy.match;
  if (!ids.includes(target) && !prefixes.some((p) => target.startsWith(p))) return false;
  return levels.length === 0 || (level !== "" && levels.includes(level));
}

/** How many escalation steps `policy` has: the first, plus its repeats. */
export function stepsOf(policy: Policy): number {
  return 1 + (policy.repeat?.times ?? 0);
}

function invalid(message: string): InvalidInput {
  return new InvalidInput("invalid_field", message);
}

function list(
  value: unknown,
  field: string,
  valid: (item: string) => boolean,
  what: string,
): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_POLICY_LIST) {
    throw invalid(`Field ${quote(field)} must be an array of at most ${MAX_POLICY_LIST} ${what}`);
  }
  for (const item of value) {
    if (typeof item !== "string" || !valid(item)) {
      const shown = typeof item === "string" ? quote(item) : "value";
      throw invalid(`Field ${quote(field)} holds ${shown}, which is not one of ${what}`);
    }
  }
  return [...new Set(value.map(String))];
}

function seconds(value: unknown, field: string): number {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 ||
    value > MAX_POLICY_SECONDS
  ) {
    throw invalid(`Field ${quote(field)} must be an integer from 1 to ${MAX_POLICY_SECONDS}`);
  }
  return value;
}

function webhook(value: unknown, allow: (url: URL) => boolean): string {
  if (typeof value !== "string" || value.length > MAX_WEBHOOK_LENGTH || !URL.canParse(value)) {
    throw invalid(`Field "webhook" must be an http or https URL`);
  }
  const url = new URL(value);
  if (!["http:", "https:"].includes(url.protocol) || url.username || url.password) {
    throw invalid(`Field "webhook" must be an http or https URL without credentials`);
  }
  if (!allow(url)) {
    throw new InvalidInput(
      "webhook_not_allowed",
      `Webhook origin ${quote(url.origin)} is not in WEBHOOK_ALLOWED_ORIGINS`,
    );
  }
  return url.href;
}
