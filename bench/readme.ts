/**
 * `deno task bench:readme [results.json …]`: puts the tables of bench results into
 * docs/performance.md between the `<!-- bench:start -->` and `<!-- bench:end -->` markers, except
 * the scenarios that have their own section: those of a kind with markers of its own
 * (`<!-- bench:paired:start -->` … `<!-- bench:paired:end -->`, by the scenario's first word) go
 * there, and a block is rewritten only when the files hold rows for it.
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
const PEERS = ["deno-bare", "node-ws", "bun", "centrifugo"];
let page = Deno.readTextFileSync(new URL("docs/performance.md", ROOT));

/** `page` with the block between `<!-- bench[:kind]:start -->` and its end marker replaced. */
function replaceBlock(text: string, name: string, block: Row[]): string {
  const [start, end] = [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
  const [before, rest = ""] = text.split(start);
  const after = rest.split(end)[1];
  if (after === undefined) throw new Error(`docs/performance.md has no ${start} … ${end}`);
  return `${before}${start}\n${formatTables(machine ?? {}, block, PEERS)}\n${end}${after}`;
}

const kindOf = (row: Row) => row.scenario.split(" ")[0]!;
const own = new Set(
  [...page.matchAll(/<!-- bench:([a-z]+):start -->/g)].map((match) => match[1]!),
);
for (const kind of own) {
  const block = rows.filter((r) => kindOf(r) === kind);
  if (block.length > 0) page = replaceBlock(page, `bench:${kind}`, block);
}
const general = rows.filter((r) => !own.has(kindOf(r)));
if (general.length > 0) page = replaceBlock(page, "bench", general);
Deno.writeTextFileSync(new URL("docs/performance.md", ROOT), page);
