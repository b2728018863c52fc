import { assert, assertEquals } from "@std/assert";
import { SETTINGS } from "../lib/config.ts";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const operations = await Deno.readTextFile(new URL("docs/operations.md", root));
const security = await Deno.readTextFile(new URL("docs/security.md", root));

Deno.test("README: the npx commands use the one pinned Deno version", async () => {
  const pin = JSON.parse(await Deno.readTextFile(new URL(".ci/package.json", root)));
  const versions = [...readme.matchAll(/deno@(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
  assert(versions.length >= 2);
  assertEquals(new Set(versions), new Set([pin.devDependencies.deno]));
});

Deno.test("CHANGELOG: the newest entry is the version /healthz reports", async () => {
  const { VERSION } = await import("../lib/core/mod.ts");
  const changelog = await Deno.readTextFile(new URL("CHANGELOG.md", root));
  assertEquals(/^## (\S+)$/m.exec(changelog)?.[1], VERSION);
});

Deno.test("README: the oldest supported Deno is the one .ci/run tests", async () => {
  const pin = JSON.parse(await Deno.readTextFile(new URL(".ci/oldest/package.json", root)));
  const stated = readme.match(/the\s+oldest\s+supported\s+one,\s+(\d+\.\d+\.\d+)/)?.[1];
  assertEquals(stated, pin.devDependencies.deno);
});

Deno.test("docs/operations.md documents every environment variable the config reads", () => {
  // SETTINGS is checked against what config.ts reads in its own test.
  assert(SETTINGS.length >= 9);
  for (const name of SETTINGS) {
    // deno fmt pads table cells, so match the first cell with any padding.
    assert(
      new RegExp(`^\\| +\`${name}\` +\\|`, "m").test(operations),
      `${name} missing from docs/operations.md`,
    );
  }
});

// The token recipes in docs/security.md, run as written by their own interpreters.
const SECRET = "r".repeat(32);
const recipes: [string, string, (code: string) => string[]][] = [
  ["js", "node", (code) => ["--input-type=module", "-e", `${code}\nconsole.log(token);`]],
  ["python", "python3", (code) => ["-c", `${code}\nprint(token)`]],
  ["sh", "bash", (code) => ["-c", `${code}\necho "$token"`]],
];
for (const [lang, command, args] of recipes) {
  const blocks = [...security.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))];
  const code = blocks.map((m) => m[1]).find((block) => block?.includes("WS_TOKEN_SECRET"));
  Deno.test(`docs/security.md: the ${lang} token recipe mints a valid token`, async () => {
    assert(code, `no ${lang} block in docs/security.md`);
    const { TokenKeys } = await import("../lib/core/mod.ts");
    const out = await new Deno.Command(command, {
      args: args(code),
      env: { WS_TOKEN_SECRET: SECRET },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assertEquals(out.code, 0);
    const token = new TextDecoder().decode(out.stdout).trim();
    const verified = await new TokenKeys([SECRET]).verify(token, Date.now());
    assert(verified.ok, `${lang}: ${JSON.stringify(verified)}`);
    assertEquals(verified.grant.sub, "plant-3");
  });
}
