import { assertEquals } from "@std/assert";
import { createLogger, formatRecord } from "./log.ts";

Deno.test("log: one line per record, U+2028/9 escaped, level filter", () => {
  const line = formatRecord(new Date(0), "info", "m", { reason: "a\nb\u2028c\u2029d\u001b" });
  assertEquals(line.split(/\r|\n|\u2028|\u2029/).length, 1);
  assertEquals(JSON.parse(line).reason, "a\nb\u2028c\u2029d\u001b");
  const lines: string[] = [];
  const logger = createLogger({ level: "warn", write: (l) => lines.push(l), now: () => 0 });
  logger.log("info", "dropped");
  logger.log("error", "kept", { n: 1 });
  assertEquals(lines, [`{"time":"1970-01-01T00:00:00.000Z","level":"error","msg":"kept","n":1}`]);
});
