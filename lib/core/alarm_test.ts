import { assert, assertEquals, assertThrows } from "@std/assert";
import { isValidCreateTime, prepareAlarm } from "./alarm.ts";
import { InvalidInput } from "./errors.ts";

Deno.test("alarm: stamping and validation", () => {
  const now = Date.parse("2026-05-06T07:08:09.010Z");
  assertEquals(prepareAlarm({ level: "x" }, now, () => "uuid-1").fields, {
    level: "x",
    id: "uuid-1",
    createTime: "2026-05-06T07:08:09.010Z",
  });
  assertEquals(prepareAlarm({ id: 0, createTime: 0 }, now).fields, { id: 0, createTime: 0 });
  // A "__proto__" key from JSON is kept as data, not as a prototype.
  const proto = prepareAlarm(JSON.parse(`{"__proto__":{"polluted":1}}`), now, () => "u").fields;
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
  assertEquals(JSON.parse(JSON.stringify(proto)).__proto__, { polluted: 1 });
  for (
    const ok of [
      "2026-01-01T00:00:00Z",
      "2026-01-01 00:00:00",
      "2026-01-01T00:00",
      "2026-01-01T00:00:00.123456+08:00",
      1767225600000,
      "2024-02-29T00:00:00Z",
      "0000-02-29T00:00:00Z",
      "2026-01-01T24:00",
      8.64e15,
    ]
  ) {
    assert(isValidCreateTime(ok), String(ok));
  }
  for (
    const bad of [
      ...["2026-01-01", "tomorrow", "2026-01-01T25:00:00Z", -1, 1.5, NaN, null, {}],
      // Days the month hasn't, times of day that don't exist, instants no Date holds.
      ...["2026-02-30T00:00:00Z", "2026-04-31T08:00", "2025-02-29T00:00:00Z"],
      ...["2026-13-01T00:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", 8.64e15 + 1],
      ...["1900-02-29T00:00:00Z", "0050-02-29T00:00:00Z"],
    ]
  ) {
    assert(!isValidCreateTime(bad), String(bad));
  }
  const error = assertThrows(() => prepareAlarm({ seq: 1 }, now), InvalidInput);
  assertEquals([error.code, error.message], ["reserved_field", 'Field "seq" is set by the server']);
});

Deno.test("alarm: an id's length counts characters, not UTF-16 units (as JSON Schema does)", () => {
  const fields = (id: string) => ({ id, message: "m" });
  assertEquals(prepareAlarm(fields("😀".repeat(128)), 0).fields.id, "😀".repeat(128));
  assertThrows(() => prepareAlarm(fields("😀".repeat(129)), 0), InvalidInput);
  assertThrows(() => prepareAlarm(fields("x".repeat(129)), 0), InvalidInput);
});

Deno.test("alarm: lone surrogates, and keys no path can name, are refused", () => {
  // Stored as UTF-8, "a\ud800b" and "a\ufffdb" would become one key.
  for (
    const body of [{ key: "a\ud800b" }, { key: "\udfff" }, { id: "\udc00" }]
  ) {
    const error = assertThrows(() => prepareAlarm(body, 0), InvalidInput);
    assertEquals(error.code, "invalid_field", JSON.stringify(body));
  }
  // Nor a key with nothing to see (an operator could not tell it from another).
  for (const key of [".", "..", " ", "\u200b", "\u3000\u202e"]) {
    const error = assertThrows(() => prepareAlarm({ key }, 0), InvalidInput);
    assertEquals(
      error.message,
      'Field "key" must be a string of 1 to 256 printable characters, not blank, "." or ".."',
      JSON.stringify(key),
    );
  }
  assertEquals(prepareAlarm({ key: "a b" }, 0).fields.key, "a b");
  // A pair is one character, and dots within a key are fine.
  assertEquals(prepareAlarm({ key: "😀/..", message: "a\ud83d\ude00b" }, 0).fields.key, "😀/..");
  assertEquals(prepareAlarm({ key: "...", message: "m" }, 0).fields.key, "...");
  // Elsewhere a lone surrogate is kept: JSON escapes it, so the log holds it as it came.
  assertEquals(JSON.parse(JSON.stringify(prepareAlarm({ m: "x\ud800" }, 0).fields)).m, "x\ud800");
});
