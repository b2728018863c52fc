import { assertEquals } from "@std/assert";
import type { Condition } from "../core/mod.ts";
import { ConditionCache } from "./condition_cache.ts";

function record(id: string, key: string): Condition {
  return {
    id,
    key,
    state: "active-unacknowledged",
    count: 1,
    firstTime: 0,
    lastTime: 0,
    alarm: { id: "a1" },
    raiseSeq: 1,
    firstSeq: 1,
    seq: 1,
    recent: [],
  };
}

Deno.test("condition cache: a complete id answers null for a key never raised, a forgotten one undefined", () => {
  const cache = new ConditionCache(1024 * 1024);
  cache.fill("p", [record("p", "k1")]);
  assertEquals(cache.get("p", "k1")?.key, "k1");
  assertEquals(cache.get("p", "k2"), null);
  assertEquals(cache.get("q", "k1"), undefined);
  cache.forget("p");
  assertEquals(cache.get("p", "k1"), undefined);
});

Deno.test("condition cache: ids found with no record count against its bound, oldest forgotten first", () => {
  const cache = new ConditionCache(64 * 1024);
  // Refused actions on ids never raised fill them empty: each counts, so they can't pile up.
  for (let i = 0; i < 10_000; i++) cache.fill(`empty-${i}`, []);
  assertEquals(cache.get("empty-9999", "k"), null);
  assertEquals(cache.get("empty-0", "k"), undefined, "the oldest id was forgotten");
  let kept = 0;
  for (let i = 0; i < 10_000; i++) if (cache.get(`empty-${i}`, "k") === null) kept++;
  assertEquals(kept > 0 && kept <= 256, true, `${kept} kept`);
  // A record set later is the most recently written: it stays while empty ids go.
  cache.set("p", "k1", record("p", "k1"), 1000);
  for (let i = 0; i < 300; i++) cache.fill(`more-${i}`, []);
  assertEquals(cache.get("p", "k1"), undefined, "written before 300 newer ids: forgotten");
  cache.set("p", "k1", record("p", "k1"), 1000);
  cache.fill("one-more", []);
  assertEquals(cache.get("p", "k1")?.key, "k1");
});
