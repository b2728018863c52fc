import { assertEquals, assertRejects } from "@std/assert";
import { NotFound, prepareAlarm } from "../core/mod.ts";
import { MemoryLog } from "./memory_log.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const copies = { deadline: async () => {}, shelvingEnd: async () => {}, condition: async () => {} };

Deno.test("memory log: a refused change on an id never used leaves no log behind", async () => {
  const log = new MemoryLog({ count: 100, ageMs: 3600_000 }, copies, () => NOW);
  const ack = { key: "k", change: { action: "acknowledge", by: "x" }, at: NOW } as const;
  for (let i = 0; i < 100; i++) {
    await assertRejects(
      () => log.append(`never-${i}`, prepareAlarm({}, NOW), undefined, undefined, ack),
      NotFound,
    );
  }
  assertEquals(log.ids, 0);
  assertEquals(await log.head("never-0"), 0);
  const raise = { key: "k", change: { action: "raise", alarm: { key: "k" } }, at: NOW } as const;
  await log.append("used", prepareAlarm({ key: "k" }, NOW), undefined, undefined, raise);
  await log.append("used", prepareAlarm({}, NOW), undefined, undefined, ack);
  assertEquals([log.ids, await log.head("used")], [1, 2]);
});
