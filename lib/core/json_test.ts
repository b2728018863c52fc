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
