/**
 * `deno task check` runs this: it reads the real import graph of every module of the service,
 * its entry points and its benchmarks (`deno info --json`, type-only and dynamic imports
 * included), and fails on an import that crosses a folder rule of `docs/architecture.md` or on
 * any import cycle. Test files are free to import what they test and are not read; test support
 * modules that a benchmark imports (the counting KV) are, as layer `tests`.
 *
 * @module
 */

/** A module's place in the layering: a folder of `lib/`, a file of `lib/`, or an entry point. */
export type Layer = string;

/** Who may import whom. A layer may always import itself. */
export const RULES: Readonly<Record<Layer, readonly Layer[]>> = {
  "lib/core": [],
  "lib/observe": [],
  "lib/store": ["lib/core", "lib/observe"],
  "lib/cluster": ["lib/store", "lib/core", "lib/observe"],
  "lib/realtime": ["lib/cluster", "lib/store", "lib/core", "lib/observe"],
  "lib/escalation": ["lib/store", "lib/core", "lib/observe"],
  "lib/http": ["lib/escalation", "lib/realtime", "lib/core", "lib/observe", "lib/config.ts"],
  "lib/config.ts": ["lib/core", "lib/observe"],
  "lib/app.ts": serverSide(),
  "lib/web": [],
  "main.ts": serverSide("lib/app.ts", "lib/config.ts"),
  "bin": serverSide(),
  "bench": serverSide("lib/app.ts", "lib/config.ts", "tests"),
  "tests": serverSide("lib/app.ts", "lib/config.ts", "lib/web"),
};

// Every server-side layer, plus `extra`: never `lib/web`, the browser's files.
function serverSide(...extra: Layer[]): Layer[] {
  return [
    "lib/http",
    "lib/escalation",
    "lib/realtime",
    "lib/cluster",
    "lib/store",
    "lib/core",
    "lib/observe",
  ].concat(["lib/config.ts"], extra);
}

/** Folders that other layers may enter only through their `mod.ts`. */
const FACADED = [
  "lib/core",
  "lib/observe",
  "lib/store",
  "lib/cluster",
  "lib/realtime",
  "lib/escalation",
  "lib/http",
];

/** The layer of a path relative to the repository root, or `undefined` if it has none. */
export function layerOf(path: string): Layer | undefined {
  const folder = /^lib\/([a-z_]+)\//.exec(path);
  if (folder) return `lib/${folder[1]}`;
  if (path.startsWith("lib/")) return path;
  const top = path.split("/")[0]!;
  return Object.hasOwn(RULES, top) ? top : Object.hasOwn(RULES, path) ? path : undefined;
}

/** Imports by module, both as paths relative to the repository root. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** Every broken rule and every cycle in `graph`, one line each; empty when all is well. */
export function violations(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [from, imports] of graph) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      problems.push(`${from} is in no layer: add it to RULES and docs/architecture.md`);
      continue;
    }
    for (const to of imports) {
      const toLayer = layerOf(to);
      if (toLayer === undefined || toLayer === fromLayer) continue;
      if (!RULES[fromLayer]!.includes(toLayer)) {
        problems.push(`${from} imports ${to}: ${fromLayer} may not import ${toLayer}`);
      } else if (FACADED.includes(toLayer) && to !== `${toLayer}/mod.ts`) {
        problems.push(`${from} imports ${to}: enter ${toLayer} through ${toLayer}/mod.ts`);
      }
    }
  }
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.join(" -> ")}`);
  return problems;
}

/** The cycles of `graph`, each as the path that closes it (first module repeated last). */
export function cycles(graph: Graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  function visit(node: string): void {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

/** The modules `deno info` should start from: everything but tests, fixtures and tools. */
async function roots(root: URL): Promise<string[]> {
  const found = ["main.ts"];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory && !["node_modules", "results"].includes(entry.name)) {
        await walk(`${path}/`);
      } else if (/\.(ts|js)$/.test(entry.name) && !/_test\.ts$|_bench\.ts$/.test(entry.name)) {
        found.push(path);
      }
    }
  }
  for (const dir of ["lib/", "bin/", "bench/"]) await walk(dir);
  return found.sort();
}

/** The import graph from `roots` (paths relative to `root`), read with `deno info --json`. */
async function readGraph(root: URL, files: string[]): Promise<Map<string, string[]>> {
  // One `deno info` for all of them: an entry module that imports every root.
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const lines = files.map((f) => `import ${JSON.stringify(new URL(f, root).href)};`);
    await Deno.writeTextFile(entry, lines.join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", root).pathname, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const info: DenoInfo = JSON.parse(new TextDecoder().decode(out.stdout));
    const relative = (specifier: string): string | undefined =>
      specifier.startsWith(root.href) ? specifier.slice(root.href.length) : undefined;
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      const from = relative(module.specifier);
      if (from === undefined) continue;
      const imports = (module.dependencies ?? []).flatMap((d) =>
        [d.code?.specifier, d.type?.specifier].flatMap((s) => {
          const to = s === undefined ? undefined : relative(s);
          return to === undefined ? [] : [to];
        })
      );
      graph.set(from, [...new Set(imports)]);
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

interface DenoInfo {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const files = await roots(root);
  const graph = await readGraph(root, files);
  const problems = violations(graph);
  const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (problems.length > 0) {
    for (const problem of problems) write(problem);
    write(`layers: ${problems.length} problem(s) in ${graph.size} modules`);
    Deno.exit(1);
  }
  write(`layers: ${graph.size} modules, no forbidden import, no cycle`);
}
