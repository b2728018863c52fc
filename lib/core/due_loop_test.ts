import { assertEquals } from "@std/assert";
import type { Clock } from "./clock.ts";
import { DueLoop } from "./due_loop.ts";

/** A clock whose timers are listed, fired by hand. */
function manualClock() {
  const timers = new Set<() => void>();
  const clock: Clock = {
    now: () => 0,
    after(_ms, fn) {
      timers.add(fn);
      return () => timers.delete(fn);
    },
  };
  return { clock, timers };
}

Deno.test("due loop: nothing runs, and no timer is left, once stop has returned", async () => {
  const { clock, timers } = manualClock();
  let runs = 0;
  let release = () => {};
  const nextRead = new Promise<void>((resolve) => release = resolve);
  const loop = new DueLoop(clock, 1000, {
    run: () => Promise.resolve(++runs),
    next: async () => {
      await nextRead; // stop() comes while the next due time is being read
      return undefined;
    },
  }, () => {});
  loop.start();
  for (const fire of [...timers]) {
    timers.delete(fire);
    fire(); // the first run
  }
  const first = loop.scan(); // shares it, and asks for one more after it
  const stopped = loop.stop();
  release();
  await Promise.all([first, stopped]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals([runs, timers.size], [1, 0]);
});
