import { assertEquals, assertThrows } from "@std/assert";
import { InvalidInput } from "./errors.ts";
import {
  applyChange,
  type Condition,
  type ConditionChange,
  type ConditionState,
  conditionView,
  decodeAction,
  isChattering,
  isShelved,
  isStale,
  STALE_MS,
} from "./condition.ts";

const BY = "op";
const raise = (seq: number): ConditionChange => ({
  action: "raise",
  alarm: { level: "critical", seq },
});
const CHANGES: Record<string, ConditionChange> = {
  clear: { action: "clear", by: "plc" },
  acknowledge: { action: "acknowledge", by: BY },
  shelve: { action: "shelve", by: BY, reason: "maintenance", until: 5000, untilCleared: false },
  unshelve: { action: "unshelve", by: BY },
  expire: { action: "expire" },
};

/** A condition in `state` (raised at 0), shelved until 5000 if asked. */
function inState(state: ConditionState, shelved = false): Condition {
  const raised = applyChange(undefined, raise(1), 0, "p", "k", 1);
  if (!raised.ok) throw new Error("raise refused");
  const c: Condition = { ...raised.condition, state };
  if (shelved) c.shelved = { until: 5000, reason: "r", by: BY, at: 0, untilCleared: false };
  return c;
}

function apply(c: Condition | undefined, change: ConditionChange, now = 1000) {
  const out = applyChange(c, change, now, "p", "k", 7);
  return out.ok
    ? { state: out.condition.state, shelved: !!out.condition.shelved }
    : out.refusal.code;
}

Deno.test("condition: a first raise is active-unacknowledged, counted once, at its seq", () => {
  const out = applyChange(undefined, raise(3), 100, "p", "boiler/high", 3);
  assertEquals(out.ok && out.condition, {
    id: "p",
    key: "boiler/high",
    state: "active-unacknowledged",
    count: 1,
    firstTime: 100,
    lastTime: 100,
    alarm: { level: "critical", seq: 3 },
    raiseSeq: 3,
    firstSeq: 3,
    seq: 3,
    recent: [100],
  });
});

Deno.test("condition: every transition from every state, and every refusal", () => {
  const table: [ConditionState, boolean, string, ReturnType<typeof apply>][] = [
    // repeats: one row, counted; acknowledged stays acknowledged; cleared is active again
    ["active-unacknowledged", false, "raise", { state: "active-unacknowledged", shelved: false }],
    ["active-acknowledged", false, "raise", { state: "active-acknowledged", shelved: false }],
    ["cleared-unacknowledged", false, "raise", { state: "active-unacknowledged", shelved: false }],
    ["normal", false, "raise", { state: "active-unacknowledged", shelved: false }],
    ["active-unacknowledged", true, "raise", { state: "active-unacknowledged", shelved: true }],
    // clear: return to normal, or wait for an acknowledgement
    ["active-unacknowledged", false, "clear", { state: "cleared-unacknowledged", shelved: false }],
    ["active-acknowledged", false, "clear", { state: "normal", shelved: false }],
    ["cleared-unacknowledged", false, "clear", "not_active"],
    ["normal", false, "clear", "not_active"],
    ["active-unacknowledged", true, "clear", { state: "cleared-unacknowledged", shelved: true }],
    ["active-acknowledged", true, "clear", { state: "normal", shelved: false }],
    // acknowledge
    ["active-unacknowledged", false, "acknowledge", {
      state: "active-acknowledged",
      shelved: false,
    }],
    ["cleared-unacknowledged", false, "acknowledge", { state: "normal", shelved: false }],
    ["active-acknowledged", false, "acknowledge", "not_unacknowledged"],
    ["normal", false, "acknowledge", "not_unacknowledged"],
    ["cleared-unacknowledged", true, "acknowledge", { state: "normal", shelved: false }],
    // shelve: anything in the active list, once
    ["active-unacknowledged", false, "shelve", { state: "active-unacknowledged", shelved: true }],
    ["active-acknowledged", false, "shelve", { state: "active-acknowledged", shelved: true }],
    ["cleared-unacknowledged", false, "shelve", { state: "cleared-unacknowledged", shelved: true }],
    ["normal", false, "shelve", "not_in_list"],
    ["active-unacknowledged", true, "shelve", "already_shelved"],
    // unshelve by an operator; expire only once the time has come
    ["active-unacknowledged", true, "unshelve", { state: "active-unacknowledged", shelved: false }],
    ["active-unacknowledged", false, "unshelve", "not_shelved"],
    ["active-unacknowledged", true, "expire", "not_due"],
    ["active-unacknowledged", false, "expire", "not_shelved"],
  ];
  for (const [state, shelved, action, expected] of table) {
    const change = action === "raise" ? raise(7) : CHANGES[action]!;
    assertEquals(apply(inState(state, shelved), change), expected, `${action} from ${state}`);
  }
  // Nothing but a raise acts on a condition never raised.
  for (const action of Object.keys(CHANGES)) {
    assertEquals(apply(undefined, CHANGES[action]!), "not_in_list", action);
  }
  assertEquals(apply(inState("active-unacknowledged", true), CHANGES.expire!, 5000), {
    state: "active-unacknowledged",
    shelved: false,
  });
});

Deno.test("condition: a one-shot shelve ends when the condition clears", () => {
  const c = inState("active-unacknowledged");
  c.shelved = { until: 9000, reason: "r", by: BY, at: 0, untilCleared: true };
  assertEquals(apply(c, CHANGES.clear!), { state: "cleared-unacknowledged", shelved: false });
  // Already cleared, it would never end that way: refused; shelved for a time, it may be.
  const cleared = inState("cleared-unacknowledged");
  const oneShot: ConditionChange = {
    action: "shelve",
    by: BY,
    reason: "r",
    until: 5000,
    untilCleared: true,
  };
  const out = applyChange(cleared, oneShot, 1000, "p", "k", 9);
  assertEquals(out.ok ? "shelved" : out.refusal.code, "not_active");
  assertEquals(applyChange(cleared, CHANGES.shelve!, 1000, "p", "k", 9).ok, true);
});

Deno.test("condition: repeats count and keep the first time; a new episode starts over", () => {
  let c = inState("active-unacknowledged");
  for (const at of [10_000, 20_000]) {
    const out = applyChange(c, raise(9), at, "p", "k", 9);
    if (out.ok) c = out.condition;
  }
  assertEquals([c.count, c.firstTime, c.lastTime, c.raiseSeq], [3, 0, 20_000, 9]);
  assertEquals(isChattering(c, 20_000), true); // 3 raises within a minute
  assertEquals(isChattering(c, 70_001), false);
  const normal = { ...c, state: "normal" as const };
  const again = applyChange(normal, raise(12), 30_000, "p", "k", 12);
  assertEquals(again.ok && [again.condition.count, again.condition.firstTime], [1, 30_000]);
});

Deno.test("condition: shelved and stale are judged at a given time", () => {
  const c = inState("active-unacknowledged", true);
  assertEquals([isShelved(c, 4999), isShelved(c, 5000)], [true, false]);
  assertEquals([isStale(c, STALE_MS), isStale(c, STALE_MS + 1)], [false, true]);
  assertEquals(isStale({ ...c, state: "cleared-unacknowledged" }, STALE_MS + 1), false);
});

Deno.test("condition: the view is every field but the alarm and the raise times", () => {
  const c: Condition = {
    ...inState("cleared-unacknowledged", true),
    acknowledged: { by: BY, at: 3 },
    clearedAt: 4,
  };
  const { alarm: _, recent: __, ...rest } = c;
  // Every optional field set: the view keeps each of them.
  assertEquals(conditionView(c), rest);
  const plain = inState("active-unacknowledged");
  assertEquals(
    Object.keys(conditionView(plain)).sort(),
    Object.keys(plain).filter((k) => k !== "alarm" && k !== "recent").sort(),
  );
});

Deno.test("condition: actions refuse bad fields, naming them", () => {
  const actor = { fallback: "api" };
  const refused = (body: Record<string, unknown>, message: string) => {
    const action = "reason" in body ? "shelve" : "acknowledge";
    const error = assertThrows(() => decodeAction(action, body, actor, 0, 60), InvalidInput);
    assertEquals([error.code, error.message], ["invalid_field", message], JSON.stringify(body));
  };
  // null is not absent: it would otherwise shelve for the longest time allowed.
  refused(
    { reason: "r", durationSeconds: null },
    'Field "durationSeconds" must be an integer from 1 to 60',
  );
  const byMessage =
    'Field "by" must be 1 to 128 printable characters that pass for no other name: no space at ' +
    'either end, no invisible character, not "system", "api", "anonymous" in any form, no word mixing Latin with ' +
    "look-alike letters";
  refused({ by: "li\nwei" }, byMessage);
  // The server's own name in any case, a name of spaces alone, one that shows as another (a
  // space at an end, a zero-width or bidi character) would mislead the audit trail.
  for (
    const by of [
      "system",
      "SYSTEM",
      "System",
      " ",
      "\u3000 \u00a0",
      " system",
      "system ",
      "system\u200b",
      "sys\u200dtem",
      "\u200b",
      "\u202eop3",
      "\ufeffli",
    ]
  ) refused({ by }, byMessage);
  for (const by of ["system-ops", "li wei", "李伟", "o'brien"]) {
    assertEquals(decodeAction("acknowledge", { by }, actor, 0, 60).by, by);
  }
  refused({ by: "li\ud800" }, 'Field "by" must be a string of 1 to 128 characters');
  refused({ comment: "x\udfff" }, 'Field "comment" must be a string of 1 to 1000 characters');
  refused(
    { comment: "😀".repeat(1001) },
    'Field "comment" must be a string of 1 to 1000 characters',
  );
  // Characters, not UTF-16 units, as the OpenAPI document's maxLength counts them.
  assertEquals(decodeAction("acknowledge", { comment: "😀".repeat(1000) }, actor, 0, 60), {
    action: "acknowledge",
    by: "api",
    comment: "😀".repeat(1000),
  });
  // A reason is required: one of spaces, line breaks or control characters alone says nothing.
  for (const reason of ["   ", "\n\t", "\u0000\u0001", "\u3000", "\u200b", "\u202e \ufeff"]) {
    refused({ reason, durationSeconds: 5 }, 'Field "reason" must say why, not be blank');
  }
  const shelve = decodeAction("shelve", { reason: " 检修 ", durationSeconds: 5 }, actor, 0, 60);
  assertEquals(shelve.action === "shelve" && shelve.reason, " 检修 ");
  assertEquals(decodeAction("acknowledge", { by: "李伟", comment: "a\nb" }, actor, 0, 60), {
    action: "acknowledge",
    by: "李伟",
    comment: "a\nb",
  });
});
