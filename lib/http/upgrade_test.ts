import { assertEquals, assertThrows } from "@std/assert";
import { HttpError } from "./errors.ts";
import { exceedsUtf8Bytes, negotiate } from "./upgrade.ts";

Deno.test("utf-8 size check counts bytes, not UTF-16 units", () => {
  assertEquals(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assertEquals(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assertEquals(exceedsUtf8Bytes("€".repeat(3), 9), false);
  assertEquals(exceedsUtf8Bytes("€".repeat(4), 11), true);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 8), false);
  assertEquals(exceedsUtf8Bytes("😀".repeat(2), 7), true);
  assertEquals(exceedsUtf8Bytes("é".repeat(5), 9), true);
});

Deno.test("negotiate refuses a subprotocol list Deno.upgradeWebSocket would not read", () => {
  const offer = (protocols: string) =>
    new Headers({
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-protocol": protocols,
    });
  assertEquals(negotiate(offer("alarms.v1")).codec.name, "alarms.v1");
  assertEquals(negotiate(offer("alarms.v1, token.abc")).codec.name, "alarms.v1");
  assertEquals(negotiate(offer("token.abc, alarms.v1")).codec.name, "alarms.v1");
  assertEquals(negotiate(offer("")).codec.name, "legacy");
  // Found by schemathesis: these passed here, then Deno threw and the answer was bad_handshake.
  for (const protocols of ["token.abc,alarms.v1", "a ,alarms.v1", "a, alarms.v1 ,b"]) {
    const error = assertThrows(() => negotiate(offer(protocols)), HttpError);
    assertEquals([error.status, error.code], [400, "unsupported_subprotocol"], protocols);
  }
});
