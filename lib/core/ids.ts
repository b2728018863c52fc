/**
 * What names things in a URL: session ids (the `{id}` of `/websocket/{id}` and
 * `/api/alarms/{id}`) and seqs (`since`, `after`, cursors), read alike on every route.
 *
 * @module
 */

/** Longest id accepted, in characters. */
export const MAX_ID_LENGTH = 128;

/**
 * 1 to 128 characters from `A-Z a-z 0-9 _ . : -`. Matched against the raw path segment, so a
 * percent-encoded character (`%`) is rejected rather than decoded into something else.
 */
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Whether `value` is a valid id. */
export function isValidId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** Quotes an untrusted value for an error message, cut short so messages stay small. */
export function quote(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/**
 * An integer ≥ 0 written in decimal digits (leading zeros allowed) up to the largest safe one, or
 * `undefined`: how every seq, cursor and count in a URL or header is read, on every route alike.
 */
export function parseSeq(text: string): number | undefined {
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  return value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}
