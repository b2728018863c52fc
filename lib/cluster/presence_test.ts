import { assertEquals } from "@std/assert";
import type { PresenceRecord } from "../store/mod.ts";
import { Presence, type PresenceRecords } from "./presence.ts";

Deno.test("presence: flushes go one after another, so the store ends with the newest record", async () => {
  // A store whose first write is slow: a second flush started meanwhile would land first.
  const stored = new Map<number, string>();
  const gates: PromiseWithResolvers<void>[] = [];
  const store: PresenceRecords = {
    async putPresence(_instance, _alive, _ttl, writes: ReadonlyMap<number, PresenceRecord>) {
      const gate = Promise.withResolvers<void>();
      gates.push(gate);
      if (gates.length === 1) await gate.promise;
      for (const [i, record] of writes) stored.set(i, JSON.stringify(record.ids));
    },
    removePresence: () => Promise.resolve(),
    listPresence: () => Promise.resolve([]),
  };
  const sessions = new Map<string, number>([["plant-3", 1]]);
  const local = { ids: () => sessions.keys(), countOf: (id: string) => sessions.get(id) ?? 0 };
  const presence = new Presence(store, local, "me", () => 0, (error) => {
    throw error;
  });
  const first = presence.flush(); // plant-3 once, held up in the store
  sessions.set("plant-3", 2);
  const second = presence.flush(); // plant-3 twice: must not land before the first
  await new Promise((resolve) => setTimeout(resolve, 10));
  gates[0]!.resolve();
  await Promise.all([first, second]);
  assertEquals(stored.get(0), JSON.stringify([["plant-3", 2]]));
  // And what this isolate believes written is what is written: a third flush writes nothing new.
  const writes = gates.length;
  await presence.flush();
  assertEquals(gates.length, writes + 1); // the liveness record only…
  assertEquals(stored.get(0), JSON.stringify([["plant-3", 2]])); // …its chunk as it was
});
