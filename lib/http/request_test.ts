import { assertEquals } from "@std/assert";
import { publishTarget } from "./request.ts";

Deno.test("publishTarget takes only URLs a URL parser would leave as they are", () => {
  const at = (path: string) => publishTarget(`http://127.0.0.1:8080${path}`);
  assertEquals(at("/api/alarms/plant-3"), "plant-3");
  assertEquals(at("/api/alarms/a.b:c_d-E9"), "a.b:c_d-E9");
  assertEquals(at(`/api/alarms/${"x".repeat(128)}`), "x".repeat(128));
  assertEquals(publishTarget("https://alarms.example/api/alarms/x"), "x");
  for (
    const path of [
      "/api/alarms/",
      "/api/alarms/x/",
      "/api/alarms/x/y",
      "/api/alarms/x?since=1",
      "/api/alarms/x#top",
      "/api/alarms/%78",
      "/api/alarms/.",
      "/api/alarms/..",
      "/api/alarms/a b",
      `/api/alarms/${"x".repeat(129)}`,
      "/api/alarms",
      "/x/api/alarms/y",
      "/API/alarms/x",
    ]
  ) assertEquals(at(path), undefined, path);
});
