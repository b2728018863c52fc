import { assertEquals } from "@std/assert";
import { FLOOD_WINDOW_MS, measurePerformance, timeOf } from "./alarm_rates.ts";
import type { Condition } from "./condition.ts";

const NOW = 1_000_000_000;

function condition(key: string, fields: Partial<Condition>): Condition {
  return {
    id: "p",
    key,
    state: "active-unacknowledged",
    count: 1,
    firstTime: NOW,
    lastTime: NOW,
    alarm: {},
    raiseSeq: 1,
    firstSeq: 1,
    seq: 1,
    recent: [NOW],
    ...fields,
  };
}

Deno.test("alarm rates: a flood is more than 10 alarms within 10 minutes", () => {
  const within = (n: number) => Array.from({ length: n }, (_, i) => NOW - i * 1000);
  assertEquals(measurePerformance(within(10), [], NOW).flood, false);
  assertEquals(measurePerformance(within(11), [], NOW).flood, true);
  const old = [...within(10), NOW - FLOOD_WINDOW_MS]; // the 11th is just outside
  assertEquals([measurePerformance(old, [], NOW).alarms, measurePerformance(old, [], NOW).flood], [
    10,
    false,
  ]);
});

Deno.test("alarm rates: chattering, stale, shelved and the most frequent conditions", () => {
  const conditions = [
    condition("chatty", { count: 5, recent: [NOW - 50_000, NOW - 20_000, NOW] }),
    condition("slow", { count: 3, recent: [NOW - 200_000, NOW - 100_000, NOW] }),
    condition("old", { firstTime: NOW - 25 * 3600_000 }),
    condition("hidden", {
      shelved: { until: NOW + 1, reason: "r", by: "b", at: NOW, untilCleared: false },
    }),
    condition("over", { state: "normal", count: 9 }),
  ];
  const measured = measurePerformance([], conditions, NOW);
  assertEquals(measured.chattering, ["chatty"]);
  assertEquals(measured.stale, ["old"]);
  assertEquals(measured.shelved, 1);
  assertEquals(measured.frequent.map((f) => f.key), ["chatty", "slow", "hidden", "old"]);
});

Deno.test("alarm rates: createTime read as ISO-8601 or epoch ms", () => {
  assertEquals(timeOf("2026-01-01T00:00:00Z"), Date.UTC(2026, 0, 1));
  assertEquals(timeOf("2026-01-01 00:00:00Z"), Date.UTC(2026, 0, 1));
  assertEquals([timeOf(5), timeOf("nope"), timeOf(null)], [5, undefined, undefined]);
});
