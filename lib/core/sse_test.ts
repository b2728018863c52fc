import { assertEquals } from "@std/assert";
import { decodeCursor, encodeCursor, sseAlarmFrame } from "./sse.ts";

Deno.test("sse: cursors round-trip, and a repeated id keeps its lower seq", () => {
  const cursor = new Map([["a", 5], ["b:c.d-e_f", 0]]);
  assertEquals(encodeCursor(cursor), "a=5,b:c.d-e_f=0");
  assertEquals(decodeCursor("a=5,b:c.d-e_f=0"), { ok: true, cursor });
  assertEquals(decodeCursor("a=7,a=3"), { ok: true, cursor: new Map([["a", 3]]) });
  assertEquals(decodeCursor("a=007"), { ok: true, cursor: new Map([["a", 7]]) });
  assertEquals(encodeCursor(new Map([["a", -1], ["b", 2]])), "b=2"); // a's position not known yet
  for (
    const bad of [
      "",
      "a",
      "a=",
      "=1",
      "a=+1",
      "a=-1",
      "a=1.5",
      "a b=1",
      "a=1,",
      "a=9007199254740992",
    ]
  ) {
    assertEquals(decodeCursor(bad).ok, false, bad);
  }
});

Deno.test("sse: an alarm frame carries its seq, or a multi-id cursor, as the event id", () => {
  const frame = sseAlarmFrame(42, '{"seq":42}');
  assertEquals(frame, 'id: 42\ndata: {"seq":42}\n\n');
  assertEquals(sseAlarmFrame("a=42,b=7", '{"seq":42}'), 'id: a=42,b=7\ndata: {"seq":42}\n\n');
});
