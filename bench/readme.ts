/**
 * `deno task bench:readme`: puts the tables of the newest bench/results/*.json into README.md
 * between the `<!-- bench:start -->` and `<!-- bench:end -->` markers.
 *
 * @module
 */
import { formatTables } from "./report.ts";

const ROOT = new URL("../", import.meta.url);
const files = [...Deno.readDirSync(new URL("bench/results/", ROOT))].map((e) => e.name).filter((
  n,
) => n.endsWith(".json")).sort();
const newest = files.at(-1);
if (!newest) {
  throw new Error("No results in bench/results: run deno task bench first");
}
const { machine, rows } = JSON.parse(
  Deno.readTextFileSync(new URL(`bench/results/${newest}`, ROOT)),
);
const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
const [before, rest = ""] = readme.split("<!-- bench:start -->");
const after = rest.split("<!-- bench:end -->")[1];
if (after === undefined) throw new Error("README.md has no bench markers");
const tables = formatTables(machine, rows, ["deno-bare", "node-ws", "bun"]);
Deno.writeTextFileSync(
  new URL("README.md", ROOT),
  `${before}<!-- bench:start -->\n${tables}\n<!-- bench:end -->${after}`,
);
