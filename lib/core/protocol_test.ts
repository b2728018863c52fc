import { assert, assertEquals } from "@std/assert";
import {
  decodeClientMessage,
  encodeAlarm,
  entryFrames,
  entryJson,
  knowFrames,
  MAX_REF_LENGTH,
  wrapAlarmFrame,
} from "./protocol.ts";

Deno.test("protocol: decoding client messages never throws", () => {
  assertEquals(decodeClientMessage("PING"), { ok: true, message: { type: "ping" } });
  assertEquals(decodeClientMessage(`{"type":"ping","extra":1}`), {
    ok: true,
    message: { type: "ping" },
  });
  assertEquals(decodeClientMessage(`{"type":"send","to":"b","data":[1]}`), {
    ok: true,
    message: { type: "send", to: "b", data: [1] },
  });
  assertEquals(decodeClientMessage(`{"type":"ack","seq":3}`), {
    ok: true,
    message: { type: "ack", seq: 3 },
  });
  const codes: [string, string][] = [
    ["ping", "invalid_json"],
    ["", "invalid_json"],
    ["null", "invalid_message"],
    ["42", "invalid_message"],
    [`{"type":7}`, "unknown_type"],
    [`{}`, "unknown_type"],
    [`{"type":"__proto__"}`, "unknown_type"],
    [`{"type":"send","to":"b"}`, "invalid_message"],
    [`{"type":"send","data":1}`, "invalid_message"],
    [`{"type":"ack","seq":"3"}`, "invalid_message"],
    [`{"type":"ack","seq":1.5}`, "invalid_message"],
    [`{"type":"ack","seq":9007199254740993}`, "json_inexact_number"],
    [`{"type":"ack","seq":1e400}`, "json_inexact_number"],
    // Like the HTTP API and the condition actions: a field they don't take is refused (an ack's
    // `id` would look like it acks another id's alarms; a send's `from` like a forged sender).
    [`{"type":"ack","seq":1,"id":"plant-4"}`, "unknown_field"],
    [`{"type":"send","to":"b","data":1,"from":"admin"}`, "unknown_field"],
    ["[".repeat(50) + "]".repeat(50), "json_too_deep"],
  ];
  for (const [text, code] of codes) {
    const decoded = decodeClientMessage(text);
    assertEquals(decoded.ok ? "ok" : decoded.code, code, text);
  }
  const long = decodeClientMessage(JSON.stringify({ type: "x".repeat(1000) }));
  assert(!long.ok && long.message.length < 100, "quoted values are cut short");
});

Deno.test("protocol: a message's ref is kept for its reply, and checked", () => {
  assertEquals(decodeClientMessage(`{"type":"ping","ref":7}`), {
    ok: true,
    message: { type: "ping", ref: 7 },
  });
  // Out of an action's fields: a ref is the envelope's, not the action's.
  assertEquals(decodeClientMessage(`{"type":"acknowledge","key":"k","ref":"a-1","comment":"c"}`), {
    ok: true,
    message: { type: "act", action: "acknowledge", key: "k", fields: { comment: "c" }, ref: "a-1" },
  });
  // A message refused for another reason still names its ref.
  assertEquals(decodeClientMessage(`{"type":"ack","seq":0,"ref":"r"}`), {
    ok: false,
    code: "invalid_message",
    message: 'Field "seq" must be a positive integer',
    ref: "r",
  });
  const tooLong = ["x".repeat(MAX_REF_LENGTH + 1), "😀".repeat(MAX_REF_LENGTH + 1)];
  for (const ref of ["", ...tooLong, 1.5, "\ud800", null, [1], { a: 1 }, true]) {
    const decoded = decodeClientMessage(JSON.stringify({ type: "ping", ref }));
    assertEquals(
      decoded,
      {
        ok: false,
        code: "invalid_message",
        message:
          `Field "ref" must be a string of 1 to ${MAX_REF_LENGTH} characters or a safe integer`,
      },
      JSON.stringify(ref),
    );
  }
  // Characters, as everywhere else: 64 emoji are 128 UTF-16 units.
  for (const ref of ["x".repeat(MAX_REF_LENGTH), "😀".repeat(MAX_REF_LENGTH)]) {
    assertEquals(decodeClientMessage(JSON.stringify({ type: "ping", ref })).ok, true);
  }
});

Deno.test("protocol: the v1 alarm frame wraps the legacy frame byte for byte", () => {
  const alarm = {
    id: "a",
    seq: 1,
    target: "t",
    createTime: "2026-01-01T00:00:00Z",
    type: "x",
    "k\u2028": '"',
  };
  const legacy = encodeAlarm(alarm);
  assertEquals(JSON.parse(legacy), alarm);
  assertEquals(JSON.parse(wrapAlarmFrame(legacy)), { type: "alarm", alarm });
});

Deno.test("protocol: an entry's JSON is rebuilt from its frames byte for byte", () => {
  const flat = { id: "a", createTime: 0, "k\u2028": '"', seq: 3, target: "t", key: "k" };
  const condition = { id: "t", key: "k", state: "active-unacknowledged", count: 2 };
  for (const entry of [flat, { ...flat, condition }]) {
    assertEquals(entryJson(entryFrames(entry)), JSON.stringify(entry));
  }
  const transition = { ...flat, transition: { action: "clear", key: "k" }, condition };
  assertEquals(entryJson(entryFrames(transition)), undefined);
  // Frames someone already made are the ones sessions get.
  const known = { seq: 3, alarm: '{"made":"before"}' };
  knowFrames(flat, known);
  assertEquals(entryFrames(flat), known);
});
