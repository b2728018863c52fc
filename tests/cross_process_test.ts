import { crossProcessProof, PROCESSES, startFleet, stopFleet } from "./support/fleet.ts";

Deno.test("three processes on one SQLite file deliver live to each other, gap-free", async () => {
  const dir = await Deno.makeTempDir();
  const fleet = await startFleet(PROCESSES, { KV_PATH: `${dir}/kv.sqlite3` });
  try {
    await crossProcessProof(fleet, "feed+poll");
  } finally {
    await stopFleet(fleet);
    await Deno.remove(dir, { recursive: true });
  }
});
