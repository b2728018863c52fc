/**
 * Safe JSON parsing for untrusted input: depth is checked on the text before parsing, because a
 * deeply nested value parses fine but later overflows the stack of anything that walks it
 * (including `JSON.stringify` when the alarm is fanned out).
 *
 * @module
 */

/** Deepest nesting of objects and arrays accepted in any inbound JSON. */
export const MAX_JSON_DEPTH = 32;
/** Most object keys accepted in any inbound JSON (real alarms have tens). */
export const MAX_JSON_KEYS = 1000;

/** What a refusal of an inexact number says, of a `what` ("Body", "Message"). */
export const INEXACT_NUMBER = (what: string): string =>
  `${what} has a number JSON can't carry exactly (an integer beyond ±9007199254740991, or one ` +
  `too large): send it as a string`;

/** What {@linkcode checkShape} refuses. */
export type ShapeError = "too_deep" | "too_many_keys" | "inexact_number";

/**
 * Checks the shape of JSON `text` before parsing: `too_deep` past `maxDepth` nested
 * objects/arrays, `too_many_keys` past `maxKeys` object keys (a key is a `:` outside strings),
 * `inexact_number` for a number parsing would change: an integer beyond ±(2^53 − 1) (a Java
 * `long` id, rounded) or one too large for a double (read as Infinity, sent on as `null`).
 */
export function checkShape(
  text: string,
  maxDepth = MAX_JSON_DEPTH,
  maxKeys = MAX_JSON_KEYS,
): ShapeError | undefined {
  let depth = 0;
  let keys = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return "too_deep";
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x3a && ++keys > maxKeys) return "too_many_keys";
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // A number: to its end. Short ones without an exponent are always exact.
      let end = i + 1;
      let exponent = false;
      for (; end < text.length; end++) {
        const d = text.charCodeAt(end);
        if (d === 0x65 || d === 0x45) exponent = true;
        else if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d)) break;
      }
      if ((exponent || end - i > 15) && inexact(text.slice(i, end))) return "inexact_number";
      i = end - 1;
    }
  }
  return undefined;
}

// Whether parsing number `token` loses it: past a double's range, or an integer past 2^53 − 1.
function inexact(token: string): boolean {
  const n = Number(token);
  if (Number.isNaN(n)) return false; // no number at all: JSON.parse says so
  return !Number.isFinite(n) || (/^-?\d+$/.test(token) && !Number.isSafeInteger(n));
}

/** The outcome of {@linkcode parseJson}. */
export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: "invalid_json" | ShapeError };

/** Parses untrusted JSON text without throwing. */
export function parseJson(text: string): JsonResult {
  const shape = checkShape(text);
  if (shape) return { ok: false, reason: shape };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: "invalid_json" };
  }
}

/** A plain JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** Whether `value` is a plain JSON object. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
