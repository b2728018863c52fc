import { assertEquals } from "@std/assert";
import { exceedsUtf8Bytes } from "./upgrade.ts";

Deno.test("utf-8 size check counts bytes, not UTF-16 units", () => {
  assertEquals(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assertEquals(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assertEquals(exceedsUtf8Bytes("€".repeat(3), 9), false);
  assertEquals(exceedsUtf8Bytes("€".repeat(4), 11), true);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 8), false);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 7), true);
  assertEquals(exceedsUtf8Bytes("é".repeat(5), 9), true);
});
