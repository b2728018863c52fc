/** The console's flood watch (`lib/web/flood.js`), a pure counter: unit tests. */
import { assertEquals } from "@std/assert";
import { FLOOD_LIMIT, FLOOD_WINDOW_MS, FloodWatch } from "../lib/web/flood.js";

Deno.test("flood watch: more than the limit within the window floods; a forgotten id starts over", () => {
  const watch = new FloodWatch();
  for (let i = 0; i <= FLOOD_LIMIT; i++) watch.record("a", 1000 + i);
  for (let i = 0; i < FLOOD_LIMIT; i++) watch.record("b", 1000 + i);
  assertEquals(watch.floods(2000), [{ id: "a", count: FLOOD_LIMIT + 1 }]);
  assertEquals(watch.floods(1000 + FLOOD_WINDOW_MS + 1), []); // out of the window
  for (let i = 0; i <= FLOOD_LIMIT; i++) watch.record("a", 5000 + i);
  // Its log read again (a store restored): what was counted goes, what comes back counts anew.
  watch.forget("a");
  watch.record("a", 6000);
  assertEquals(watch.floods(7000), []);
});
