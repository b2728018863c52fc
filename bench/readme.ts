/**
 * `deno task bench:readme [results.json …]`: puts the tables of bench results into
 * docs/performance.md between the `<!-- bench:start -->` and `<!-- bench:end -->` markers.
 * Without arguments, the newest file in bench/results/. With several, later files replace the
 * scenarios they measured again (e.g. a full run, then `--only soak`); the machine line comes
 * from the first.
 *
 * @module
 */
import { formatTables, type Row } from "./report.ts";

const ROOT = new URL("../", import.meta.url);
const newest = [...Deno.readDirSync(new URL("bench/results/", ROOT))].map((e) => e.name)
  .filter((n) => n.endsWith(".json")).sort().at(-1);
const paths = Deno.args.length > 0
  ? Deno.args
  : newest
  ? [new URL(`bench/results/${newest}`, ROOT).pathname]
  : [];
if (paths.length === 0) {
  throw new Error("No results in bench/results: run deno task bench first");
}

let machine: Record<string, string> | undefined;
let rows: Row[] = [];
for (const path of paths) {
  const results: { machine: Record<string, string>; rows: Row[] } = JSON.parse(
    Deno.readTextFileSync(path),
  );
  machine ??= results.machine;
  for (const scenario of new Set(results.rows.map((r) => r.scenario))) {
    const fresh = results.rows.filter((r) => r.scenario === scenario);
    const at = rows.findIndex((r) => r.scenario === scenario);
    rows = at < 0 ? [...rows, ...fresh] : [
      ...rows.slice(0, at),
      ...fresh,
      ...rows.slice(at).filter((r) => r.scenario !== scenario),
    ];
  }
}
const page = Deno.readTextFileSync(new URL("docs/performance.md", ROOT));
const [before, rest = ""] = page.split("<!-- bench:start -->");
const after = rest.split("<!-- bench:end -->")[1];
if (after === undefined) {
  throw new Error("docs/performance.md has no bench markers");
}
const tables = formatTables(machine ?? {}, rows, [
  "deno-bare",
  "node-ws",
  "bun",
]);
Deno.writeTextFileSync(
  new URL("docs/performance.md", ROOT),
  `${before}<!-- bench:start -->\n${tables}\n<!-- bench:end -->${after}`,
);
