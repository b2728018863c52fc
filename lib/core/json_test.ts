import { assertEquals } from "@std/assert";
import { checkShape, parseJson } from "./json.ts";

Deno.test("json: depth is checked on the text, ignoring brackets in strings", () => {
  assertEquals(checkShape("[[[]]]", 3), undefined);
  assertEquals(checkShape("[[[[]]]]", 3), "too_deep");
  assertEquals(checkShape(`{"a":"[[[[[[[[\\"[[[["}`, 2), undefined);
  assertEquals(checkShape(`["\\\\", [[[]]]]`, 3), "too_deep");
  assertEquals(checkShape(`{"a":1,"b":{"c":2}}`, 32, 3), undefined);
  assertEquals(checkShape(`{"a":1,"b":{"c":2,"d":3}}`, 32, 3), "too_many_keys");
  assertEquals(checkShape(`{"a":"x:y:z:w"}`, 32, 1), undefined);
  assertEquals(parseJson("[".repeat(100_000)), { ok: false, reason: "too_deep" });
  assertEquals(parseJson("{"), { ok: false, reason: "invalid_json" });
  assertEquals(parseJson(`{"a":[1]}`), { ok: true, value: { a: [1] } });
});

Deno.test("json: numbers parsing would change are refused; exact ones of any form pass", () => {
  for (
    const text of [
      `{"deviceId":9007199254740993}`, // a Java long, rounded by a double
      `{"x":-9007199254740992}`,
      `{"x":123456789012345678901234567890}`,
      `{"big":1e999}`, // Infinity, sent on as null
      `[1, -1.5E+400]`,
    ]
  ) assertEquals(checkShape(text), "inexact_number", text);
  for (
    const text of [
      `{"deviceId":9007199254740991,"n":-9007199254740991}`,
      `{"x":0.1000000000000000055511151231257827,"y":1.5e3,"z":1e20,"w":-0}`,
      `{"s":"9007199254740993","t":true,"f":false,"e":"1e999"}`,
      `[12345678901234.5678]`,
    ]
  ) assertEquals(checkShape(text), undefined, text);
  assertEquals(parseJson(`{"id":9007199254740993}`), { ok: false, reason: "inexact_number" });
  // Not a number at all: JSON.parse's to refuse, as invalid JSON.
  for (const text of [`{"a":1e}`, `{"a":1E+}`, `{"a":1234567890123456-}`]) {
    assertEquals(parseJson(text), { ok: false, reason: "invalid_json" }, text);
  }
});
