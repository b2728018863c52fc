import { assertEquals, assertThrows } from "@std/assert";
import { InvalidInput } from "./errors.ts";
import { levelOf } from "./alarm.ts";
import { decodePolicy, policyMatches } from "./policy.ts";

const allowAll = () => true;
const GOOD = { match: { ids: ["plant-3"] }, ackWithinSeconds: 300, escalateTo: ["lead"] };

Deno.test("policy: a valid body decodes, with defaults and lower-cased levels", () => {
  assertEquals(decodePolicy("boilers", GOOD, allowAll), {
    name: "boilers",
    match: { ids: ["plant-3"], prefixes: [], levels: [] },
    ackWithinSeconds: 300,
    escalateTo: ["lead"],
  });
  const full = decodePolicy("b", {
    match: { prefixes: ["plant-"], levels: ["Critical", "critical", "MAJOR"] },
    ackWithinSeconds: 1,
    escalateTo: [],
    webhook: "https://hooks.example.com/a?b=c",
    repeat: { everySeconds: 60, times: 3 },
  }, (url) => url.origin === "https://hooks.example.com");
  assertEquals(full.match.levels, ["critical", "major"]);
  assertEquals(full.webhook, "https://hooks.example.com/a?b=c");
  assertEquals(full.repeat, { everySeconds: 60, times: 3 });
});

Deno.test("policy: every bad input is a 400-class error naming the field", () => {
  const cases: [string, unknown, string, string][] = [
    ["bad name!", GOOD, "invalid_id", 'Policy name "bad name!" is not a valid id'],
    ["p", { ...GOOD, extra: 1 }, "unknown_field", 'Field "extra" is not allowed'],
    ["p", { ...GOOD, match: "plant-3" }, "invalid_field", 'Field "match" must be an object'],
    ["p", { ...GOOD, match: { id: ["x"] } }, "unknown_field", 'Field "match.id" is not allowed'],
    ["p", { ...GOOD, match: {} }, "invalid_field", "at least one id or prefix"],
    ["p", { ...GOOD, match: { ids: "x" } }, "invalid_field", 'Field "match.ids" must be an array'],
    ["p", { ...GOOD, match: { ids: ["a b"] } }, "invalid_field", 'holds "a b", which is not'],
    ["p", { ...GOOD, match: { ids: [1] } }, "invalid_field", "holds value"],
    ["p", { ...GOOD, match: { prefixes: ["%"] } }, "invalid_field", "match.prefixes"],
    ["p", { ...GOOD, match: { ids: ["a"], levels: [""] } }, "invalid_field", "match.levels"],
    ["p", { ...GOOD, ackWithinSeconds: 0 }, "invalid_field", '"ackWithinSeconds" must be'],
    ["p", { ...GOOD, ackWithinSeconds: "5" }, "invalid_field", "ackWithinSeconds"],
    ["p", { ...GOOD, ackWithinSeconds: 1.5 }, "invalid_field", "ackWithinSeconds"],
    ["p", { ...GOOD, ackWithinSeconds: 604_801 }, "invalid_field", "ackWithinSeconds"],
    ["p", { ...GOOD, escalateTo: [] }, "invalid_field", '"escalateTo" ids, a "webhook", or both'],
    ["p", { ...GOOD, escalateTo: Array(101).fill("x") }, "invalid_field", "at most 100"],
    ["p", { ...GOOD, webhook: "ftp://h/x" }, "invalid_field", "http or https URL"],
    ["p", { ...GOOD, webhook: "not a url" }, "invalid_field", "http or https URL"],
    ["p", { ...GOOD, webhook: "https://u:p@h.example" }, "invalid_field", "without credentials"],
    ["p", { ...GOOD, repeat: 3 }, "invalid_field", 'Field "repeat" must be an object'],
    ["p", { ...GOOD, repeat: { everySeconds: 60 } }, "invalid_field", '"repeat.times"'],
    ["p", { ...GOOD, repeat: { times: 1 } }, "invalid_field", '"repeat.everySeconds"'],
    ["p", { ...GOOD, repeat: { times: 101, everySeconds: 1 } }, "invalid_field", "1 to 100"],
  ];
  for (const [name, body, code, message] of cases) {
    const error = assertThrows(
      () => decodePolicy(name, body as Record<string, unknown>, allowAll),
      InvalidInput,
      message,
    );
    assertEquals(error.code, code, message);
  }
  const refused = assertThrows(
    () => decodePolicy("p", { ...GOOD, webhook: "http://169.254.169.254/x" }, () => false),
    InvalidInput,
    'Webhook origin "http://169.254.169.254" is not in WEBHOOK_ALLOWED_ORIGINS',
  );
  assertEquals(refused.code, "webhook_not_allowed");
});

Deno.test("policy: matches exact ids and prefixes, and levels case-insensitively", () => {
  const policy = decodePolicy("p", {
    match: { ids: ["office"], prefixes: ["plant-"], levels: ["critical", "5"] },
    ackWithinSeconds: 1,
    escalateTo: ["lead"],
  }, allowAll);
  assertEquals(policyMatches(policy, "office", levelOf({ level: "Critical" })), true);
  assertEquals(policyMatches(policy, "plant-9", levelOf({ severity: 5 })), true);
  assertEquals(
    policyMatches(policy, "plant-9", levelOf({ level: "minor", severity: "critical" })),
    false,
  );
  assertEquals(policyMatches(policy, "plant-9", levelOf({ level: null })), false);
  // An empty or unusable level leaves the severity to say it, as the conditions filter reads it.
  assertEquals(levelOf({ level: "", severity: "Critical" }), "critical");
  assertEquals(levelOf({ level: true, severity: 5 }), "5");
  assertEquals(levelOf({ level: "", severity: "" }), "");
  assertEquals(policyMatches(policy, "offices", "critical"), false);
  assertEquals(policyMatches(policy, "plant", "critical"), false);
  const anyLevel = decodePolicy("q", GOOD, allowAll);
  assertEquals(policyMatches(anyLevel, "plant-3", levelOf({})), true);
});
