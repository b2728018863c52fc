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
    ]
  ) {
    assert(isValidCreateTime(ok), String(ok));
  }
  for (const bad of ["2026-01-01", "tomorrow", "2026-01-01T25:00:00Z", -1, 1.5, NaN, null, {}]) {
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
