import { assert, assertEquals } from "@std/assert";
import { pauseAfter } from "./backoff.ts";

Deno.test("backoff doubles from the first pause up to the cap", () => {
  const policy = { firstMs: 100, maxMs: 5000 };
  assertEquals([0, 1, 2, 3, 6, 7, 50].map((n) => pauseAfter(policy, n)), [
    100,
    100,
    200,
    400,
    3200,
    5000,
    5000,
  ]);
});

Deno.test("backoff with jitter stays in the upper half of each pause", () => {
  const policy = { firstMs: 2, maxMs: 400, jitter: true };
  assertEquals([1, 9].map((n) => pauseAfter(policy, n, () => 0)), [1, 200]);
  for (const [n, full] of [[1, 2], [9, 400]] as const) {
    const most = pauseAfter(policy, n, () => 0.999_999);
    assert(most > full * 0.999 && most < full, `${most} for ${full}`);
  }
});
