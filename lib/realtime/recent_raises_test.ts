import { assertEquals } from "@std/assert";
import { RecentRaises } from "./recent_raises.ts";

Deno.test("recent raises: chattering is per condition, floods per id, and both forget the stale", () => {
  const recent = new RecentRaises();
  for (const at of [0, 10_000, 20_000]) recent.raised("plant-3", "boiler-7", at);
  recent.raised("plant-3", "tank-1", 20_000); // once: not chattering
  recent.raised("plant-4", "boiler-7", 20_000); // another id's key of the same name
  assertEquals(recent.chattering(30_000), 1);
  // The third raise is a minute old: no longer chattering, and forgotten.
  assertEquals(recent.chattering(80_000), 0);
  assertEquals(recent.chattering(30_000), 0);
  for (let at = 0; at < 11; at++) recent.raised("plant-5", undefined, at * 1000);
  assertEquals(recent.floods(11_000), 1);
  recent.raised("plant-6", undefined, 0);
  assertEquals(recent.floods(11_000), 1); // ten or fewer are no flood
  assertEquals(recent.floods(11 * 60_000), 0);
});

Deno.test("recent raises: the busiest ids, counted to the sample, with their chattering", () => {
  const recent = new RecentRaises();
  for (let i = 0; i < 250; i++) recent.raised("busy", i % 2 ? "k" : undefined, i * 100);
  for (const at of [0, 1000]) recent.raised("calm", undefined, at);
  recent.raised("old", undefined, -11 * 60_000);
  assertEquals(recent.busiest(25_000, 10), [
    { id: "busy", alarms: 200, chattering: 1 }, // 250 raised: counted up to 200
    { id: "calm", alarms: 2, chattering: 0 },
  ]);
  assertEquals(recent.busiest(25_000, 1).map((r) => r.id), ["busy"]);
});
