import { assert, assertEquals } from "@std/assert";
import { base64url, idMatches, TokenKeys } from "./token.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const SECRET = "a".repeat(32);
const OLD = "b".repeat(32);

function part(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

async function hs256(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return base64url(
    new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body))),
  );
}

Deno.test("tokens: round trip, expiry and grants", async () => {
  const keys = new TokenKeys([SECRET]);
  const token = await keys.sign("plant-*", NOW + 60_000, ["ops", "panel-*"]);
  assertEquals(await keys.verify(token, NOW), {
    ok: true,
    grant: { sub: "plant-*", expiresAt: NOW + 60_000, send: ["ops", "panel-*"] },
  });
  assertEquals(await keys.verify(token, NOW + 60_000), { ok: false, reason: "expired" });
  assertEquals((await keys.verify(await keys.sign("x", NOW + 1000), NOW)).ok, true);
});

Deno.test("tokens: a rotated-out secret still verifies; a foreign one doesn't", async () => {
  const before = await new TokenKeys([OLD]).sign("x", NOW + 60_000);
  const rotated = new TokenKeys([SECRET, OLD]);
  assertEquals((await rotated.verify(before, NOW)).ok, true);
  assertEquals(await new TokenKeys([SECRET]).verify(before, NOW), {
    ok: false,
    reason: "bad_signature",
  });
  // New tokens are signed with the current secret.
  const after = await rotated.sign("x", NOW + 60_000);
  assertEquals((await new TokenKeys([SECRET]).verify(after, NOW)).ok, true);
});

Deno.test("tokens: forged, tampered, wrong algorithm and malformed tokens are refused", async () => {
  const keys = new TokenKeys([SECRET]);
  const token = await keys.sign("plant-3", NOW + 60_000);
  const [header, , signature] = token.split(".");
  const tampered = `${header}.${part({ sub: "*", exp: NOW / 1000 + 60 })}.${signature}`;
  assertEquals(await keys.verify(tampered, NOW), { ok: false, reason: "bad_signature" });
  const none = `${part({ alg: "none", typ: "JWT" })}.${part({ sub: "*", exp: 9e9 })}.`;
  assertEquals(await keys.verify(none, NOW), { ok: false, reason: "malformed" });
  const hs512Body = `${part({ alg: "HS512" })}.${part({ sub: "x", exp: 9e9 })}`;
  assertEquals(await keys.verify(`${hs512Body}.${await hs256(SECRET, hs512Body)}`, NOW), {
    ok: false,
    reason: "malformed",
  });
  for (const bad of ["", "a.b", "a.b.c.d", "!!.??.**", "x".repeat(5000), `${token}x`]) {
    assert(!(await keys.verify(bad, NOW)).ok, bad.slice(0, 20));
  }
  // One spelling per token: the last character's spare bits set is another string, refused.
  const last = signature!.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const spare = alphabet[alphabet.indexOf(last) ^ 1]!; // a 32-byte signature: 2 spare bits
  const respelt = token.slice(0, -1) + spare;
  assertEquals(await keys.verify(respelt, NOW), { ok: false, reason: "malformed" });
  // Well signed but with claims the server can't use.
  for (
    const claims of [{ sub: "a b", exp: 9e9 }, { sub: "x" }, { sub: "x", exp: "9e9" }, {
      sub: "x",
      exp: 9e9,
      send: "ops",
    }, [1]]
  ) {
    const body = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
    assertEquals(await keys.verify(`${body}.${await hs256(SECRET, body)}`, NOW), {
      ok: false,
      reason: "malformed",
    });
  }
});

Deno.test("tokens: a stock JWT library's header order and a missing typ are accepted", async () => {
  const keys = new TokenKeys([SECRET]);
  for (const header of [{ typ: "JWT", alg: "HS256" }, { alg: "HS256" }]) {
    const body = `${part(header)}.${
      part({ exp: NOW / 1000 + 60, sub: "plant-3", iat: NOW / 1000 })
    }`;
    assertEquals((await keys.verify(`${body}.${await hs256(SECRET, body)}`, NOW)).ok, true);
  }
});

Deno.test("id patterns: exact, prefix and any", () => {
  assert(idMatches("plant-3", "plant-3"));
  assert(!idMatches("plant-3", "plant-30"));
  assert(idMatches("plant-*", "plant-30"));
  assert(idMatches("plant-*", "plant-"));
  assert(!idMatches("plant-*", "plan"));
  assert(idMatches("*", "anything"));
});

Deno.test("tokens: an expiry no date can hold is malformed, one at the edge is fine", async () => {
  const keys = new TokenKeys([SECRET]);
  const signed = async (exp: number) => {
    const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub: "x", exp })}`;
    return `${body}.${await hs256(SECRET, body)}`;
  };
  for (const exp of [8.6e12 + 1e11, 1e300, -1]) {
    assertEquals(await keys.verify(await signed(exp), NOW), { ok: false, reason: "malformed" });
  }
  const edge = await keys.verify(await signed(8_640_000_000_000), NOW);
  assert(edge.ok);
  new Date(edge.grant.expiresAt).toISOString(); // what /api/sessions shows: must not throw
});

Deno.test("tokens: nbf is honoured with a minute's leeway; a nbf that is no number is malformed", async () => {
  const keys = new TokenKeys([SECRET]);
  const signed = async (claims: Record<string, unknown>) => {
    const body = `${part({ alg: "HS256", typ: "JWT" })}.${
      part({ sub: "x", exp: NOW / 1000 + 3600, ...claims })
    }`;
    return `${body}.${await hs256(SECRET, body)}`;
  };
  const at = async (nbf: unknown) => await keys.verify(await signed({ nbf }), NOW);
  assertEquals(await at(NOW / 1000 + 61), { ok: false, reason: "not_yet_valid" });
  assert((await at(NOW / 1000 + 60)).ok); // a backend's clock a minute ahead
  assert((await at(NOW / 1000 - 5)).ok);
  assertEquals(await at("soon"), { ok: false, reason: "malformed" });
  assert((await keys.verify(await signed({}), NOW)).ok);
});
