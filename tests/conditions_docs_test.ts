import { assert, assertEquals } from "@std/assert";
import { startServer } from "./support/server.ts";

const doc = await Deno.readTextFile(new URL("../docs/conditions.md", import.meta.url));
const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

Deno.test("docs/conditions.md: the publisher's walkthrough runs as printed and ends where it says", async () => {
  await using server = await startServer();
  const script = blocks.join("\n");
  assert(script.includes("/acknowledge") && script.includes("/clear"), "walkthrough missing");
  const out = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    env: { ALARMCAST: server.http },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const answers = new TextDecoder().decode(out.stdout).split(/(?<=\})(?=\{)/);
  // raise, repeat, list, acknowledge, clear, detail, shelve (refused: it is normal by then)
  assertEquals(answers.length, 7);
  const parsed = answers.map((text) => JSON.parse(text));
  assertEquals(parsed[2].conditions[0].count, 2);
  assertEquals(parsed[3].condition.state, "active-acknowledged");
  assertEquals(parsed[5].state, "normal");
  assertEquals(
    parsed[5].history.map((e: { transition?: { action: string } }) => e.transition?.action),
    [undefined, undefined, "acknowledge", "clear"],
  );
  assertEquals(parsed[6].error.code, "not_in_list");
});
