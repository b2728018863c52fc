/**
 * What shows on a screen: text an operator reads in the audit trail and the console (who acted,
 * a condition's key, a shelving's reason) must not be blank, nor pass for other text.
 *
 * @module
 */

/**
 * Characters that show as nothing: white space, controls, format characters (zero-width, bidi
 * controls), default-ignorable ones (Hangul fillers, variation selectors, tags) and the blank
 * braille pattern, as a character class's body for a `u` regex.
 */
const INVISIBLE = String.raw`\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800`;

/**
 * {@linkcode INVISIBLE}'s characters of the Basic Multilingual Plane, as a character class's body
 * without Unicode properties: for JSON Schema patterns, which have none (checked against the
 * properties in `visible_test.ts`).
 */
export const INVISIBLE_BMP = String.raw`\u0000-\u0020\u007f-\u00a0\u00ad\u034f\u0600-\u0605` +
  String.raw`\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f` +
  String.raw`\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff` +
  String.raw`\uffa0\ufff0-\ufffb`;

const BLANK = new RegExp(`^[${INVISIBLE}]*$`, "u");
const SPACE_AT_AN_END = /^\p{White_Space}|\p{White_Space}$/u;
const HIDDEN = new RegExp(`[${INVISIBLE}]`, "u");
/** White space (fine inside a name), and joiners a script needs (emoji sequences, Persian, Indic). */
const NOT_HIDDEN = /\p{White_Space}|(?<!\p{Script=Latin})[\u200c\u200d](?!\p{Script=Latin})/gu;
const LATIN = /\p{Script=Latin}/u;
const LOOKALIKE_SCRIPTS = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;

/** Whether `text` has nothing to read: {@linkcode INVISIBLE} characters alone (or nothing). */
export function isBlank(text: string): boolean {
  return BLANK.test(text);
}

/** A JSON Schema pattern of blank text, within the Basic Multilingual Plane. */
export const BLANK_PATTERN = `^[${INVISIBLE_BMP}]*$`;

/**
 * Whether a name would pass for another in the audit trail, or for none: blank, `reserved` (the
 * server's own) in any case or width (`SYSTEM`, `ｓｙｓｔｅｍ`, `𝐬𝐲𝐬𝐭𝐞𝐦`), white space at either
 * end, a hidden character anywhere (`system\u200b`, bidi controls, fillers), or Latin letters
 * mixed with Cyrillic or Greek ones, whose look-alikes spell Latin words (`ѕуѕtеm`).
 */
export function isMisleadingName(name: string, reserved: string): boolean {
  return isBlank(name) || name.normalize("NFKC").toLowerCase() === reserved ||
    SPACE_AT_AN_END.test(name) ||
    HIDDEN.test(name.replace(NOT_HIDDEN, "")) ||
    (LATIN.test(name) && LOOKALIKE_SCRIPTS.test(name));
}

/**
 * The hidden characters of a name within the Basic Multilingual Plane (the invisible ones but
 * white space, controls, which names can't hold anyway, and joiners), likewise for patterns.
 */
export const HIDDEN_BMP = String.raw`\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891` +
  String.raw`\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u202a-\u202e` +
  String.raw`\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb`;

/** White space of the Basic Multilingual Plane other than controls, likewise. */
const SPACES_BMP = String.raw` \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000`;

/**
 * A JSON Schema pattern of the names {@linkcode isMisleadingName} refuses, as far as a pattern
 * without Unicode properties can say: `reserved` in ASCII in any case, white space at either end,
 * a hidden character of the Basic Multilingual Plane anywhere.
 */
export function misleadingNamePattern(reserved: string): string {
  const anyCase = [...reserved].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join("");
  return `^${anyCase}$|^[${SPACES_BMP}]|[${SPACES_BMP}]$|[${HIDDEN_BMP}]`;
}
