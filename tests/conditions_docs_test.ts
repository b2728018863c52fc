import { assert, assertEquals } from "@std/assert";
import { startServer } from "./support/server.ts";

const doc = await Deno.readTextFile(new URL("../docs/conditions.md", import.meta.url));
const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs a shell recipe as printed, against `alarmcast` (`$ALARMCAST`); its stdout. */
async function runShell(script: string, alarmcast: string): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    env: { ALARMCAST: alarmcast },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("docs/conditions.md: the publisher's walkthrough runs as printed and ends where it says", async () => {
  await using server = await startServer();
  const script = blocks.join("\n");
  assert(script.includes("/acknowledge") && script.includes("/clear"), "walkthrough missing");
  const answers = (await runShell(script, server.http)).split(/(?<=\})(?=\{)/);
  // raise, repeat, list, acknowledge, clear, detail, raise again, shelve, the audit trail's first
  // page
  assertEquals(answers.length, 9);
  const parsed = answers.map((text) => JSON.parse(text));
  assertEquals(parsed[2].conditions[0].count, 2);
  assertEquals(parsed[3].condition.state, "active-acknowledged");
  assertEquals(parsed[5].state, "normal");
  assertEquals(
    parsed[5].history.map((e: { transition?: { action: string } }) => e.transition?.action),
    [undefined, undefined, "acknowledge", "clear"],
  );
  assertEquals(parsed[6].seq, 5);
  assertEquals(parsed[7].condition.shelved.reason, "Sensor replaced, recalibrating");
  assertEquals([parsed[8].seq, parsed[8].scanned], [6, 4]);
  assertEquals(
    parsed[8].transitions.map((e: { transition: { action: string } }) => e.transition.action),
    ["acknowledge", "clear"],
  );
});

Deno.test("README.zh-CN.md: the keyed walkthrough runs as printed and leaves the condition normal", async () => {
  await using server = await startServer();
  const readme = await Deno.readTextFile(new URL("../README.zh-CN.md", import.meta.url));
  const script = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
    .find((code) => code.includes("$ALARMCAST"));
  assert(script, "the keyed walkthrough is missing from README.zh-CN.md");
  await runShell(script, server.http);
  const detail = await server.get(
    `/api/conditions/plant-3/${encodeURIComponent("boiler-7/pressure-high")}`,
  );
  assertEquals([detail.body.state, detail.body.count, detail.body.history.length], [
    "normal",
    2,
    4,
  ]);
  assertEquals(detail.body.acknowledged.by, "li.wei");
});

const HAVE_JAVA = (() => {
  try {
    return new Deno.Command("java", { args: ["-version"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "docs/conditions.md: the Java recipe raises and clears a condition on a real server",
  ignore: !HAVE_JAVA,
  async fn() {
    const key = "k".repeat(32);
    await using server = await startServer({ config: { apiKey: key } });
    const java = [...doc.matchAll(/```java\n([\s\S]*?)```/g)].map((m) => m[1]!)
      .find((code) => code.includes("/clear"));
    assert(java, "the Java recipe is missing from docs/conditions.md");
    // A key with a space and a plus: a path takes "+" literally, so the recipe must not send one.
    const spaced = "boiler 7/pressure+high";
    assert(java.includes('key = "boiler-7/pressure-high"'));
    const dir = await Deno.makeTempDir();
    try {
      // The recipe as printed, inside a main with the client and key it assumes (java.md's).
      await Deno.writeTextFile(
        `${dir}/Conditions.java`,
        `import java.net.*;\nimport java.net.http.*;\nimport java.nio.charset.StandardCharsets;\n` +
          `public class Conditions {\n  public static void main(String[] args) throws Exception {\n` +
          `    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();\n` +
          `    String apiKey = System.getenv("ALARM_API_KEY");\n` +
          java.replace('"http://localhost:8080"', JSON.stringify(server.http))
            .replace('key = "boiler-7/pressure-high"', `key = ${JSON.stringify(spaced)}`) +
          "  }\n}\n",
      );
      const out = await new Deno.Command("java", {
        args: ["Conditions.java"],
        cwd: dir,
        env: { ALARM_API_KEY: key },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const detail = await server.get(
      `/api/conditions/plant-3/${encodeURIComponent(spaced)}`,
      { authorization: `Bearer ${key}` },
    );
    assertEquals([detail.body.state, detail.body.history.length], ["cleared-unacknowledged", 2]);
  },
});
