import { assertEquals } from "@std/assert";
import { cycles, layerOf, violations } from "./check_layers.ts";

Deno.test("layers: files map to their folder, top-level files and entry points to themselves", () => {
  assertEquals(layerOf("lib/store/kv_log.ts"), "lib/store");
  assertEquals(layerOf("lib/config.ts"), "lib/config.ts");
  assertEquals(layerOf("bench/run.ts"), "bench");
  assertEquals(layerOf("main.ts"), "main.ts");
  assertEquals(layerOf("scripts/x.ts"), undefined);
});

Deno.test("layers: allowed imports through facades pass", () => {
  const graph = new Map([
    ["lib/http/handler.ts", ["lib/realtime/mod.ts", "lib/core/mod.ts", "lib/config.ts"]],
    ["lib/realtime/mod.ts", ["lib/realtime/hub.ts"]],
    ["lib/realtime/hub.ts", ["lib/store/mod.ts", "lib/cluster/mod.ts"]],
    ["main.ts", ["lib/app.ts", "lib/store/mod.ts"]],
  ]);
  assertEquals(violations(graph), []);
});

Deno.test("layers: a forbidden edge, a bypassed facade and an unknown file are each reported", () => {
  const graph = new Map([
    ["lib/core/ids.ts", ["lib/observe/mod.ts"]],
    ["lib/http/publish.ts", ["lib/store/mod.ts"]],
    ["lib/realtime/replay.ts", ["lib/store/store.ts"]],
    ["lib/http/static.ts", ["lib/web/client.js"]],
    ["scripts/x.ts", []],
  ]);
  assertEquals(violations(graph), [
    "lib/core/ids.ts imports lib/observe/mod.ts: lib/core may not import lib/observe",
    "lib/http/publish.ts imports lib/store/mod.ts: lib/http may not import lib/store",
    "lib/realtime/replay.ts imports lib/store/store.ts: enter lib/store through lib/store/mod.ts",
    "lib/http/static.ts imports lib/web/client.js: lib/http may not import lib/web",
    "scripts/x.ts is in no layer: add it to RULES and docs/architecture.md",
  ]);
});

Deno.test("layers: cycles are found within a folder and across folders", () => {
  const graph = new Map([
    ["lib/store/a.ts", ["lib/store/b.ts"]],
    ["lib/store/b.ts", ["lib/store/a.ts"]],
    ["bench/run.ts", ["bench/paired.ts"]],
    ["bench/paired.ts", ["bench/report.ts"]],
    ["bench/report.ts", ["bench/run.ts"]],
  ]);
  assertEquals(cycles(graph), [
    ["bench/paired.ts", "bench/report.ts", "bench/run.ts", "bench/paired.ts"],
    ["lib/store/a.ts", "lib/store/b.ts", "lib/store/a.ts"],
  ]);
  assertEquals(violations(graph).length, 2);
});

Deno.test("layers: escalation sits between the store and http, and may not reach realtime", () => {
  const graph = new Map([
    ["lib/http/policies.ts", ["lib/escalation/mod.ts"]],
    ["lib/escalation/mod.ts", ["lib/store/mod.ts", "lib/core/mod.ts", "lib/observe/mod.ts"]],
    ["lib/escalation/scheduler.ts", ["lib/realtime/mod.ts"]],
    ["lib/realtime/hub.ts", ["lib/escalation/mod.ts"]],
    ["lib/app.ts", ["lib/escalation/scheduler.ts"]],
  ]);
  assertEquals(violations(graph), [
    "lib/escalation/scheduler.ts imports lib/realtime/mod.ts: lib/escalation may not import lib/realtime",
    "lib/realtime/hub.ts imports lib/escalation/mod.ts: lib/realtime may not import lib/escalation",
    "lib/app.ts imports lib/escalation/scheduler.ts: enter lib/escalation through lib/escalation/mod.ts",
  ]);
});
