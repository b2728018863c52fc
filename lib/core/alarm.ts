/**
 * Alarms: validation of what a publisher POSTs, and the fields the server adds.
 *
 * @module
 */
import { InvalidInput, TooLarge } from "./errors.ts";
import { quote } from "./ids.ts";
import type { JsonObject } from "./json.ts";
import { isBlank } from "./visible.ts";

/**
 * An accepted alarm as every client sees it: the publisher's fields, flat, plus `id`, `seq`
 * (per target, from 1), `target` (the id it was published to) and `createTime`.
 */
export interface Alarm extends JsonObject {
  id: string | number;
  seq: number;
  target: string;
  createTime: string | number;
}

/** An alarm validated and stamped with `id` and `createTime`, waiting for its `seq`. */
export interface PreparedAlarm {
  /** The publisher's fields with `id` and `createTime` filled in. */
  fields: JsonObject & { id: string | number; createTime: string | number };
  /** At least the fields' size as JSON in UTF-8, as they will be stored and sent. */
  bytes: number;
}

/**
 * Most bytes an alarm's fields may take as JSON. A body within the body limit can grow when it
 * is serialized again (`1e20` becomes 21 digits); past this it can't be stored, and is refused.
 */
export const MAX_ALARM_BYTES = 119_000;

/**
 * Fields the server owns; a publisher setting one gets a 400. `condition` and `transition` carry
 * a keyed alarm's condition and an operator's action on the log (`condition.ts`).
 */
export const RESERVED_FIELDS: readonly string[] = ["seq", "target", "condition", "transition"];

/** Longest condition `key`, in characters. */
export const MAX_KEY_LENGTH = 256;

const MAX_ALARM_ID_LENGTH = 128;
const UTF8 = new TextEncoder();
// Control characters would make ids unsafe to print; everything else is the publisher's business.
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Validates the publisher's `body` and fills in `id` (a UUID unless given) and `createTime`
 * (ISO-8601 UTC at `now` unless given). Throws {@linkcode InvalidInput} naming the field.
 */
export function prepareAlarm(
  body: JsonObject,
  now: number,
  newId: () => string = () => crypto.randomUUID(),
): PreparedAlarm {
  for (const name of RESERVED_FIELDS) {
    if (Object.hasOwn(body, name)) {
      throw new InvalidInput("reserved_field", `Field ${quote(name)} is set by the server`);
    }
  }
  const id = body.id ?? newId();
  if (!isValidAlarmId(id)) {
    throw new InvalidInput(
      "invalid_field",
      `Field "id" must be a string of 1 to ${MAX_ALARM_ID_LENGTH} printable characters or a non-negative integer`,
    );
  }
  if (body.key !== undefined && !isValidKey(body.key)) {
    throw new InvalidInput(
      "invalid_field",
      `Field "key" must be a string of 1 to ${MAX_KEY_LENGTH} printable characters, not blank, "." or ".."`,
    );
  }
  const given = body.createTime ?? undefined; // null asks for the server's time, like absent
  if (given !== undefined && !isValidCreateTime(given)) {
    throw new InvalidInput(
      "invalid_field",
      `Field "createTime" must be an ISO-8601 date-time or epoch milliseconds`,
    );
  }
  const fields = { ...body, id, createTime: given ?? new Date(now).toISOString() };
  const json = JSON.stringify(fields);
  // 1 to 3 bytes per UTF-16 unit: counted exactly only when the bound passes the limit.
  const bytes = json.length * 3 <= MAX_ALARM_BYTES ? json.length * 3 : UTF8.encode(json).length;
  if (bytes > MAX_ALARM_BYTES) {
    throw new TooLarge(
      "alarm_too_large",
      `Alarm takes ${bytes} bytes as JSON; the limit is ${MAX_ALARM_BYTES}`,
    );
  }
  return { fields, bytes };
}

/** Completes a prepared alarm with its `seq` and `target`. */
export function completeAlarm(prepared: PreparedAlarm, target: string, seq: number): Alarm {
  return { ...prepared.fields, seq, target };
}

function isValidAlarmId(id: unknown): id is string | number {
  if (typeof id === "number") return Number.isSafeInteger(id) && id >= 0;
  return isPrintable(id, MAX_ALARM_ID_LENGTH);
}

/**
 * Whether `value` is a string of 1 to `max` characters (code points, as JSON Schema's
 * `maxLength` counts them), valid Unicode (a lone surrogate can't be stored as UTF-8: two would
 * collide) and without control characters.
 */
export function isPrintable(value: unknown, max: number): value is string {
  return typeof value === "string" && fitsCharacters(value, max) && !CONTROL_CHARS.test(value);
}

/**
 * Whether `value` is 1 to `max` characters (code points, as JSON Schema's `maxLength` counts
 * them) of valid Unicode.
 */
export function fitsCharacters(value: string, max: number): boolean {
  // Characters counted one by one only when UTF-16 units are more than the limit.
  return value.length >= 1 && value.length <= 2 * max &&
    (value.length <= max || [...value].length <= max) && value.isWellFormed();
}

/**
 * Whether `key` can name a condition: 1 to 256 printable characters, not blank (an operator
 * could not tell it from another), other than `.` and `..` (URLs resolve those path segments
 * away, so no route could name the condition).
 */
export function isValidKey(key: unknown): key is string {
  return isStoredKey(key) && !isBlank(key);
}

/**
 * Whether `key` may name a condition already stored: what releases before 0.8.2 took for a key,
 * blank ones too. Reading or acting on a condition asks only this, so one raised then stays
 * manageable (else it would stay active for good); raising one asks {@linkcode isValidKey}.
 */
export function isStoredKey(key: unknown): key is string {
  return isPrintable(key, MAX_KEY_LENGTH) && key !== "." && key !== "..";
}

/**
 * An alarm's level as everything that matches on it reads it (policies, the conditions filter,
 * the console's `view.js`): its `level`, else its `severity`, whichever first is a non-empty
 * string or a number, lowercased; `""` for none.
 */
export function levelOf(fields: JsonObject): string {
  return levelIn(fields.level) ?? levelIn(fields.severity) ?? "";
}

// A level a field gives: a non-empty string or a number, lowercased.
function levelIn(value: unknown): string | undefined {
  return typeof value === "number" || (typeof value === "string" && value !== "")
    ? String(value).toLowerCase()
    : undefined;
}

/** Whether `value` is an acceptable `createTime`: an ISO-8601 date-time or epoch milliseconds. */
export function isValidCreateTime(value: unknown): value is string | number {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 && value <= MAX_DATE_MS;
  }
  if (typeof value !== "string" || !ISO_8601.test(value)) return false;
  // A day the month has: Date.parse takes 2026-02-30 as 2 March (times it checks itself).
  const [year, month, day] = value.match(YEAR_MONTH_DAY)!.slice(1).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!); // Date.UTC would take year 50 as 1950
  return date.getUTCMonth() === month! - 1 && date.getUTCDate() === day! &&
    !Number.isNaN(Date.parse(value.replace(" ", "T")));
}

const YEAR_MONTH_DAY = /^(\d+)-(\d+)-(\d+)/;
/** The last instant a JavaScript `Date` can hold, in epoch milliseconds. */
const MAX_DATE_MS = 8.64e15;
