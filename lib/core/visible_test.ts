import { assert, assertEquals } from "@std/assert";
import {
  BLANK_PATTERN,
  HIDDEN_BMP,
  INVISIBLE_BMP,
  isBlank,
  isMisleadingName,
  misleadingNamePattern,
} from "./visible.ts";

Deno.test("visible: the schema's list holds every invisible character of the BMP, and no visible one", () => {
  const listed = new RegExp(`[${INVISIBLE_BMP}]`);
  const missing: string[] = [];
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const text = String.fromCharCode(c);
    if (isBlank(text) && !listed.test(text)) missing.push(c.toString(16));
  }
  assertEquals(missing, []);
  for (const text of ["a", "检", "-", "_", ".", "\u0301", "ä"]) assert(!listed.test(text), text);
  assert(new RegExp(BLANK_PATTERN).test(" \u3164\u200b"));
  // A name's hidden characters: the invisible ones but white space, controls and joiners.
  const hidden = new RegExp(`^[${HIDDEN_BMP}]$`);
  const wrong: string[] = [];
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const text = String.fromCharCode(c);
    const expected = isBlank(text) && !/[\p{White_Space}\p{Cc}\u200c\u200d]/u.test(text);
    if (hidden.test(text) !== expected) wrong.push(c.toString(16));
  }
  assertEquals(wrong, []);
  // The schema's pattern refuses what the server does, within what a pattern can say.
  const pattern = new RegExp(misleadingNamePattern(["system"]));
  for (const name of ["SYSTEM", " li", "li ", "li\u200bwei", "\u3164"]) {
    assert(pattern.test(name), name);
  }
  for (const name of ["Li Wei", "李伟", "👩\u200d🔧", "system-ops"]) {
    assert(!pattern.test(name), name);
  }
});

Deno.test("visible: text with nothing to read is blank, astral invisible characters too", () => {
  for (
    const text of [
      "",
      " ",
      "\n\t",
      "\u3164",
      "\u{E0020}\u{E0020}",
      "\u034f",
      "\ufe0f",
      "\u2800\u2800",
      "\u{1D173}",
      "\u{1BCA0}",
      "\u{E0100}",
    ]
  ) {
    assert(isBlank(text), JSON.stringify(text));
  }
  for (const text of ["a", "检修", "😀", " x "]) assert(!isBlank(text), text);
});

Deno.test("visible: names that pass for the server's, for another or for none are misleading; real names are not", () => {
  for (
    const name of [
      "system",
      "SYSTEM",
      "ｓｙｓｔｅｍ", // fullwidth
      "𝐬𝐲𝐬𝐭𝐞𝐦", // mathematical bold
      "ѕуѕtеm", // Cyrillic look-alikes among Latin letters
      " system",
      "system ",
      "system\u200b",
      "sys\u200dtem",
      "system\u{E0041}",
      "system\u{1D173}",
      "li\u034fwei",
      "\u3164",
      "\u202eop3",
      "\u200d",
      "\ufeffli",
      "\u0405\u0423\u0405\u0422\u0415\u041c", // ЅУЅТЕМ, all Cyrillic
      "\ua4e2\ua4ec\ua4e2\ua4d4\ua4f0\ua4df", // Lisu
      "SYSTE\ua4df",
      "SYST\u13acM",
      "\u13da\u13a9\u13da\u13a2\u13ac\u13b7", // Cherokee
      "\ua731\u028f\ua731\u1d1b\u1d07\u1d0d", // small capitals
      "system\u{1D159}",
      "\u{1D159}",
      "\u0418\u0432\u200d\u0430\u043d", // a joiner inside a Cyrillic name
      "\u5f20\u200d\u4f1f",
      "ops-\u200d1",
    ]
  ) {
    assert(isMisleadingName(name, ["system"]), JSON.stringify(name));
  }
  for (
    const name of [
      "李伟",
      "Li Wei",
      "Li  Wei",
      "👷 ops",
      "🇨🇳",
      "👩\u200d🔧",
      "محمد\u200cرضا", // Persian, with the joiner its spelling needs
      "Jose\u0301",
      "system-ops",
      "o'brien",
      "Иван",
      "Ελένη",
      "Anna \u2764\ufe0f",
      "\u{1F3F3}\ufe0f\u200d\u{1F308}",
      "\u{1F9D1}\u200d\u2695\ufe0f",
      "1\ufe0f\u20e3",
      "\u182d\u180b",
      "Анна Smith",
      "Dimitris Δημήτρης",
      "\u0915\u094d\u200d\u0937", // Devanagari with a joiner
    ]
  ) {
    assert(!isMisleadingName(name, ["system"]), JSON.stringify(name));
  }
});

Deno.test("visible: every reserved name in other scripts and styles passes for it", () => {
  const reserved = ["system", "api", "anonymous"];
  for (
    const name of [
      "арі", // Cyrillic
      "ꓮꓑꓲ", // Lisu
      "ᴀᴘɪ", // small capitals
      "αρι", // Greek
      "ɑpi",
      "apı",
      "api̇",
      "ᴀɴᴏɴʏᴍᴏᴜꜱ",
      "аnоnymоus",
    ]
  ) {
    assert(isMisleadingName(name, reserved), JSON.stringify(name));
  }
  for (const name of ["apis", "anonymous-ops", "Анна", "Ivan", "Παύλος"]) {
    assert(!isMisleadingName(name, reserved), name);
  }
});
