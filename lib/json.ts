/**
 * Safe JSON parsing for untrusted input: depth is checked on the text before parsing, because a
 * deeply nested value parses fine but later overflows the stack of anything that walks it
 * (including `JSON.stringify` when the alarm is fanned out).
 *
 * @module
 */

/** Deepest nesting of objects and arrays accepted in any inbound JSON. */
export const MAX_JSON_DEPTH = 32;

/** Whether the JSON `text` nests objects/arrays deeper than `max`. Ignores brackets in strings. */
export function exceedsDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** The outcome of {@linkcode parseJson}. */
export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: "invalid_json" | "too_deep" };

/** Parses untrusted JSON text without throwing. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonResult {
  if (exceedsDepth(text, maxDepth)) return { ok: false, reason: "too_deep" };
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
