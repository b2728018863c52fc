import { assertEquals, assertMatch } from "@std/assert";
import { freePort, listening } from "./support/ports.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("out of file descriptors, the listener fails and the process exits 1 for its supervisor", async () => {
  const port = freePort();
  // A file limit of 100 makes exhaustion cheap: about 90 connections.
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n 100 && exec "$0" run -A "$1"`, Deno.execPath(), MAIN],
    env: { PORT: String(port), HOST: "127.0.0.1", KV_PATH: ":memory:", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stdout = new Response(child.stdout).text(); // read, not cancelled: a closed pipe kills a writer
  await listening(port);
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      held.push(conn);
      // Half a request head, as a slowloris client sends it.
      await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    }
  } catch {
    // Refused or reset once the server is out of descriptors.
  } finally {
    for (const conn of held) conn.close();
  }
  const status = await child.status;
  await stdout;
  assertEquals(status.code, 1);
  const failure = (await stderr).split("\n").filter((line) => line.includes('"level":"error"'));
  assertEquals(failure.length, 1);
  assertMatch(failure[0]!, /"msg":"the listener failed".*Too many open files/);
});
