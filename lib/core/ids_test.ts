import { assert, assertEquals } from "@std/assert";
import { isValidId, parseSeq } from "./ids.ts";

Deno.test("ids: allowed characters and length", () => {
  for (const ok of ["1", "a-b_c.d:e", "A".repeat(128), "..", "device:42"]) {
    assert(isValidId(ok), ok);
  }
  for (const bad of ["", "A".repeat(129), "a/b", "a b", "a%20b", "é", "a\n", 7, null]) {
    assert(!isValidId(bad), String(bad));
  }
});

Deno.test("ids: seqs are decimal digits up to the largest safe integer, as every route reads them", () => {
  assertEquals(parseSeq("0"), 0);
  assertEquals(parseSeq("007"), 7);
  assertEquals(parseSeq("9007199254740991"), Number.MAX_SAFE_INTEGER);
  for (const bad of ["", "1e3", "+1", " 1", "-1", "1.5", "9007199254740992", "0".repeat(17)]) {
    assertEquals(parseSeq(bad), undefined, bad);
  }
});
