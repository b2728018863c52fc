import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { HttpError } from "./errors.ts";
import { allowedMethods, type KeyCheck, type Route, Router } from "./router.ts";

const TABLE: Route<string>[] = [
  { path: "/", methods: { GET: "page" } },
  { path: "/api/things", auth: "apiKey", methods: { POST: "create" } },
  { path: "/api/things/{id}", auth: "apiKey", methods: { PUT: "put", GET: "get" } },
  { path: "/api/acks/{id}", cors: true, methods: { POST: "ack" } },
  { path: "/feed/{a}/x/{b}", methods: { DELETE: "drop" } },
  { path: "/stream/{id}", stream: true, methods: { GET: "open" } },
];
const router = new Router(TABLE);

/** A key check that refuses without `Authorization: Bearer key`, counting its calls. */
class FakeKey implements KeyCheck {
  calls = 0;
  check(headers: Headers): Promise<void> {
    this.calls++;
    if (headers.get("authorization") === "Bearer key") return Promise.resolve();
    return Promise.reject(new HttpError(401, "unauthorized", "A valid API key is required"));
  }
}

/** What `method path` resolves to: the operation and params, or the error's status and code. */
async function resolve(method: string, path: string, key?: string): Promise<unknown> {
  const auth = new FakeKey();
  const headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
  const req = new Request(`http://h${path}`, { method, headers });
  try {
    const { operation, params } = await router.resolve(req, path, router.match(path), auth);
    return { operation, params, keyChecked: auth.calls > 0 };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, code: error.code, ...error.headers };
  }
}

Deno.test("router: params are whole segments as sent, an empty one included", () => {
  assertEquals(router.match("/api/things/a%20b")?.params, { id: "a%20b" });
  assertEquals(router.match("/api/things/")?.params, { id: "" });
  assertEquals(router.match("/feed/1/x/2")?.params, { a: "1", b: "2" });
  assertEquals(router.match("/")?.route.path, "/");
  for (const path of ["", "//", "/api/things/a/b", "/api/thing", "/feed/1/y/2", "/API/things"]) {
    assertEquals(router.match(path), undefined, path);
  }
});

Deno.test("router: path, then the key, then the method, then the operation", async () => {
  assertEquals(await resolve("GET", "/api/things/a", "key"), {
    operation: "get",
    params: { id: "a" },
    keyChecked: true,
  });
  assertEquals(await resolve("GET", "/", undefined), {
    operation: "page",
    params: {},
    keyChecked: false,
  });
  // The key before the method: a wrong method tells nothing without it.
  assertEquals(await resolve("DELETE", "/api/things/a"), { status: 401, code: "unauthorized" });
  // 405 before the params: a wrong method with a bad id is still a 405, Allow in a fixed order.
  assertEquals(await resolve("DELETE", "/api/things/bad!", "key"), {
    status: 405,
    code: "method_not_allowed",
    allow: "GET, HEAD, PUT",
  });
});

Deno.test("router: HEAD is answered by GET's operation, except where GET opens a stream", async () => {
  assertEquals(await resolve("HEAD", "/"), { operation: "page", params: {}, keyChecked: false });
  assertEquals(await resolve("HEAD", "/api/things/a", "key"), {
    operation: "get",
    params: { id: "a" },
    keyChecked: true,
  });
  // No GET, no HEAD; and a stream is not opened to be dropped.
  assertEquals(await resolve("HEAD", "/api/things", "key"), {
    status: 405,
    code: "method_not_allowed",
    allow: "POST",
  });
  assertEquals(await resolve("HEAD", "/stream/a"), {
    status: 405,
    code: "method_not_allowed",
    allow: "GET",
  });
  assertEquals(allowedMethods(TABLE[0]!), ["GET", "HEAD"]);
});

Deno.test("router: a cors route answers OPTIONS with the preflight and allows it", async () => {
  assertEquals(await resolve("OPTIONS", "/api/acks/a"), {
    operation: undefined,
    params: { id: "a" },
    keyChecked: false,
  });
  assertEquals(await resolve("GET", "/api/acks/a"), {
    status: 405,
    code: "method_not_allowed",
    allow: "POST, OPTIONS",
  });
  assertEquals(await resolve("OPTIONS", "/api/things", "key"), {
    status: 405,
    code: "method_not_allowed",
    allow: "POST",
  });
  assertEquals(allowedMethods(TABLE[3]!), ["POST", "OPTIONS"]);
});

Deno.test("router: an unknown path is a 404, after the key where keyed routes live", async () => {
  assertEquals(await resolve("GET", "/nope"), { status: 404, code: "not_found" });
  for (const path of ["/api", "/api/", "/api/nope", "/api/things/a/b", "/api/acks/a/b"]) {
    assertEquals(await resolve("GET", path), { status: 401, code: "unauthorized" }, path);
    assertEquals(await resolve("POST", path, "key"), { status: 404, code: "not_found" }, path);
  }
  // Without an API key configured there is nothing to check.
  const req = new Request("http://h/api/nope");
  const error = await assertRejects(() => router.resolve(req, "/api/nope", undefined, undefined));
  assertEquals(error instanceof HttpError && error.status, 404);
});

Deno.test("router: a malformed table is refused when compiled", () => {
  const bad: [Route<string>[], string][] = [
    [[{ path: "a", methods: { GET: "x" } }], 'Route "a" must start with "/"'],
    [[{ path: "/a/{id}.json", methods: { GET: "x" } }], "not a whole segment"],
    [[{ path: "/a/{id}/{id}", methods: { GET: "x" } }], "names a param twice"],
    [[{ path: "/a", methods: {} }], "has no methods"],
    [[
      { path: "/a/{id}", methods: { GET: "x" } },
      { path: "/a/{name}", methods: { PUT: "y" } },
    ], 'Route "/a/{name}" is declared twice'],
  ];
  for (const [table, message] of bad) assertThrows(() => new Router(table), Error, message);
});
