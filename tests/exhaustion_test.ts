import { assertEquals, assertLess, assertMatch } from "@std/assert";
import { freePort, listening } from "./support/ports.ts";
import { healthy } from "./support/wait.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("out of file descriptors, the listener fails, is reopened, and serves once the flood stops", async () => {
  const port = freePort();
  // A file limit of 100 makes exhaustion cheap: about 90 connections.
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n 100 && exec "$0" run -A "$1"`, Deno.execPath(), MAIN],
    env: { PORT: String(port), HOST: "127.0.0.1", KV_PATH: ":memory:", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read, not cancelled: a closed pipe kills its writer.
  const out = { stdout: "", stderr: "" };
  const pump = async (name: "stdout" | "stderr") => {
    for await (const chunk of child[name].pipeThrough(new TextDecoderStream())) out[name] += chunk;
  };
  const pumps = Promise.all([pump("stdout"), pump("stderr")]);
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
  }
  for (const conn of held) conn.close();
  const stopped = Date.now();
  await healthy(`http://127.0.0.1:${port}`, 10_000);
  assertLess(Date.now() - stopped, 10_000);
  child.kill("SIGTERM");
  assertEquals((await child.status).code, 0);
  await pumps;
  const records = `${out.stdout}\n${out.stderr}`.split("\n").filter((line) => line);
  // Whether the accept loop died depends on when the flood met the limit (connections also wait
  // in the kernel's backlog): every failure is logged once, and every one was reopened.
  const errors = records.filter((line) => line.includes('"level":"error"'));
  for (const error of errors) {
    assertMatch(error, /"msg":"the listener failed".*Too many open files/);
  }
  const reopened = records.filter((line) => line.includes('"msg":"listening again"'));
  assertEquals(reopened.length, errors.length);
});
