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
const INVISIBLE = String
  .raw`\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800\u{1D159}`;

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
/**
 * What is not hidden in a name: white space (fine inside one), joiners after an emoji or a letter
 * of a script that spells with them (Arabic, Syriac, Indic, Sinhala), emoji presentation selectors
 * after an emoji or a digit (`❤️`, `1️⃣`), Mongolian variation selectors after Mongolian letters.
 */
const NOT_HIDDEN = new RegExp(
  String.raw`\p{White_Space}` +
    String
      .raw`|(?<=[\p{Extended_Pictographic}\p{Emoji_Modifier}\ufe0f\p{Script=Arabic}\p{Script=Syriac}` +
    String.raw`\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}` +
    String.raw`\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}` +
    String.raw`\p{Script=Malayalam}\p{Script=Sinhala}]\p{M}*)[\u200c\u200d]` +
    String.raw`|(?<=[\p{Extended_Pictographic}\p{Nd}])[\ufe0e\ufe0f]` +
    String.raw`|(?<=\p{Script=Mongolian})[\u180b-\u180f]`,
  "gu",
);
const LATIN = /\p{Script=Latin}/u;
const LOOKALIKE_SCRIPTS =
  /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Cherokee}\p{Script=Lisu}]/u;

/**
 * Letters that look like those of the reserved names (`system`, `api`, `anonymous`) in other
 * scripts and styles (Cyrillic, Greek, Lisu, Cherokee, Latin small capitals and variants), after
 * NFKC and lower case: what a name is compared as.
 */
const LOOKALIKES = new Map<string, string>([
  ..."ѕꜱꓢꮪꮥ".split("").map((c) => [c, "s"] as const),
  ..."уүʏꓬꭹγ".split("").map((c) => [c, "y"] as const),
  ..."тᴛꓔꭲτ".split("").map((c) => [c, "t"] as const),
  ..."еᴇꓰꭼε".split("").map((c) => [c, "e"] as const),
  ..."мᴍꓟꮇμ".split("").map((c) => [c, "m"] as const),
  ..."аɑᴀꓮꭺα".split("").map((c) => [c, "a"] as const),
  ..."рᴘꓑꮲρ".split("").map((c) => [c, "p"] as const),
  ..."іӏıɪꓲꭵι".split("").map((c) => [c, "i"] as const),
  ..."ɴꓠ".split("").map((c) => [c, "n"] as const),
  ..."оᴏꓳꮻο".split("").map((c) => [c, "o"] as const),
  ..."ᴜꓴυ".split("").map((c) => [c, "u"] as const),
]);

/**
 * `name` as it reads: NFKC, lower case, combining marks left alone dropped (`i` with a dot above
 * reads `i`), look-alike letters as the Latin ones they pass for.
 */
function skeleton(name: string): string {
  return [...name.normalize("NFKC").toLowerCase().replace(/\p{Mn}/gu, "")]
    .map((c) => LOOKALIKES.get(c) ?? c).join("");
}

/** Whether `text` has nothing to read: {@linkcode INVISIBLE} characters alone (or nothing). */
export function isBlank(text: string): boolean {
  return BLANK.test(text);
}

/** A JSON Schema pattern of blank text, within the Basic Multilingual Plane. */
export const BLANK_PATTERN = `^[${INVISIBLE_BMP}]*$`;

/**
 * Whether a name would pass for another in the audit trail, or for none: blank, one of `reserved`
 * (the server's own) in any case, width or look-alike letters (`SYSTEM`, `ｓｙｓｔｅｍ`, `ЅУЅТЕМ`,
 * `ꜱʏꜱᴛᴇᴍ`), white space at either end, a hidden character anywhere (`system\u200b`, bidi
 * controls, fillers, a joiner where no script needs one), or a word mixing Latin letters with
 * Cyrillic, Greek, Cherokee or Lisu ones, whose look-alikes spell Latin words (`ѕуѕtеm`).
 */
export function isMisleadingName(name: string, reserved: readonly string[]): boolean {
  return isBlank(name) || reserved.includes(skeleton(name)) || SPACE_AT_AN_END.test(name) ||
    HIDDEN.test(name.replace(NOT_HIDDEN, "")) ||
    name.split(/\p{White_Space}+/u).some((word) =>
      LATIN.test(word) && LOOKALIKE_SCRIPTS.test(word)
    );
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
export function misleadingNamePattern(reserved: readonly string[]): string {
  const anyCase = reserved.map((name) =>
    [...name].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join("")
  );
  return `^(?:${anyCase.join("|")})$|^[${SPACES_BMP}]|[${SPACES_BMP}]$|[${HIDDEN_BMP}]`;
}
