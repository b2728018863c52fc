import { assert } from "@std/assert";
import { isValidId } from "./ids.ts";

Deno.test("ids: allowed characters and length", () => {
  for (const ok of ["1", "a-b_c.d:e", "A".repeat(128), "..", "device:42"]) {
    assert(isValidId(ok), ok);
  }
  for (const bad of ["", "A".repeat(129), "a/b", "a b", "a%20b", "é", "a\n", 7, null]) {
    assert(!isValidId(bad), String(bad));
  }
});
