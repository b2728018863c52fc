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

/**
 * Checks the shape of JSON `text` before parsing: `too_deep` past `maxDepth` nested
 * objects/arrays, `too_many_keys` past `maxKeys` object keys (a key is a `:` outside strings).
 */
export function checkShape(
  text: string,
  maxDepth = MAX_JSON_DEPTH,
  maxKeys = MAX_JSON_KEYS,
): "too_deep" | "too_many_keys" | undefined {
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
  }
  return undefined;
}

/** The outcome of {@linkcode parseJson}. */
export type JsonResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: "invalid_json" | "too_deep" | "too_many_keys" };

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
