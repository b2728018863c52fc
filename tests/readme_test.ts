import { assert, assertEquals } from "@std/assert";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));

Deno.test("README: the npx commands use the one pinned Deno version", async () => {
  const pin = JSON.parse(await Deno.readTextFile(new URL(".ci/package.json", root)));
  const versions = [...readme.matchAll(/deno@(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
  assert(versions.length >= 2);
  assertEquals(new Set(versions), new Set([pin.devDependencies.deno]));
});

Deno.test("README: every environment variable the config reads is documented", async () => {
  const source = await Deno.readTextFile(new URL("lib/config.ts", root));
  const names = new Set([...source.matchAll(/(?:int\(\s*"|env\.)([A-Z_]+)/g)].map((m) => m[1]));
  assert(names.size >= 9);
  for (const name of names) {
    // deno fmt pads table cells, so match the first cell with any padding.
    assert(new RegExp(`^\\| +\`${name}\` +\\|`, "m").test(readme), `${name} missing from README`);
  }
});
