/**
 * `deno task bench`: alarmcast against bare Deno, Node + ws and Bun on the same contract. Each
 * server runs alone, pinned to core 0 (`taskset`); the load generator (bench/load.mjs) runs on
 * core 1. Server CPU and RSS come from /proc. Prints one table with every figure of ours as a
 * ratio to each peer from the same run, and writes it as JSON to bench/results/.
 *
 * Flags: `--quick` (one small size per timed scenario, 1 s each: a sanity run within a minute), `--only <scenario>` (idle, fanout, paired,
 * publish, durable, halfload, hostile, kvcost, transports, soak, wide), `--repeat <n>` (measure each server n times, keep the median run),
 * `--generator node` (drive the load from Node instead of Bun), `--soak-minutes <n>` (default 10;
 * the soak runs only when asked with `--only soak`), `--wide-sockets <n>` (default 60,000; the wide
 * fan-out across processes runs only when asked with `--only wide`). Centrifugo is built once
 * (Go, about 3 minutes) and joins the peers where it speaks the scenario (`peers/centrifugo.ts`).
 *
 * @module
 */
import { loadEvents } from "./load_events.ts";
import { CENTRIFUGO_API_KEY, CENTRIFUGO_ENV, ensureCentrifugo } from "./peers/centrifugo.ts";
import { printTable, type Row } from "./report.ts";
import type { Generated, Server, Variant } from "./types.ts";
import { DenoKv, findDenokv } from "../tests/support/denokv.ts";
import { freePort, listening } from "../tests/support/ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BUN = `${ROOT}bench/node_modules/bun/bin/bun.exe`;
const CLK_TCK = 100;
const args = Deno.args;
const quick = args.includes("--quick");
const flag = (
  name: string,
) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = flag("--only");
const soakMinutes = Number(flag("--soak-minutes") ?? 10) || 10;
const repeat = Math.max(1, Number(flag("--repeat") ?? 1) || 1);
const GENERATOR = flag("--generator") === "node" ? "node" : BUN;
/** Where the on-disk KV databases of this run live; one fresh file per server start. */
const DISK = await Deno.makeTempDir({ prefix: "alarmcast-bench-" });
let disks = 0;

/** How to start each server; all read PORT. */
const CENTRIFUGO = await ensureCentrifugo();
const SERVERS: Record<
  string,
  {
    cmd: string[];
    env?: Record<string, string>;
    /** The variable that takes the port (PORT unless said). */
    portEnv?: string;
    /** How the load generator speaks to it (`load.mjs`); alarmcast's API unless said. */
    dialect?: string;
  }
> = {
  alarmcast: {
    cmd: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      `${ROOT}main.ts`,
    ],
    env: {
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
      UPGRADES_PER_MINUTE: "0",
      MAX_SESSIONS_PER_ID: "1000000",
      MAX_SESSIONS_PER_ADDRESS: "1000000",
      MAX_SESSIONS: "1000000",
    },
  },
  "deno-bare": {
    cmd: [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--unstable-kv",
      `${ROOT}bench/peers/deno_bare.ts`,
    ],
  },
  "node-ws": { cmd: ["node", `${ROOT}bench/peers/node_ws.mjs`] },
  bun: { cmd: [BUN, `${ROOT}bench/peers/bun.mjs`] },
  ...(CENTRIFUGO
    ? {
      centrifugo: {
        cmd: [CENTRIFUGO],
        env: { ...CENTRIFUGO_ENV },
        portEnv: "CENTRIFUGO_HTTP_SERVER_PORT",
        dialect: "centrifugo",
      },
    }
    : {}),
};
const PEERS = [
  "deno-bare",
  "node-ws",
  "bun",
  ...(CENTRIFUGO ? ["centrifugo"] : []),
];

/** alarmcast with its log in memory and on disk (KV, a fresh file each start), then each peer. */
const ON_DISK: Variant = [
  "alarmcast",
  "alarmcast (KV on disk)",
  () => ({ KV_PATH: `${DISK}/kv-${++disks}.sqlite3` }),
];
const VARIANTS: Variant[] = [
  ["alarmcast", "alarmcast (memory)", () => ({})],
  ON_DISK,
  ...PEERS.map((p): Variant => [p, p, () => ({})]),
];

/**
 * Measures each variant `repeat` times, interleaved so drift in the machine hits every server
 * alike, and keeps for each the run with the median of `key`. `once` gets a started server.
 */
async function measure(
  variants: Variant[],
  key: keyof Row,
  once: (server: Server, label: string) => Promise<Row>,
): Promise<void> {
  const runs = new Map<string, Row[]>();
  for (let i = 0; i < repeat; i++) {
    for (const [name, label, env] of variants) {
      const row = await withServer(
        name,
        env(),
        (server) => once(server, label),
      );
      runs.set(label, [...runs.get(label) ?? [], row]);
    }
  }
  for (const list of runs.values()) {
    list.sort((a, b) => Number(a[key] ?? 0) - Number(b[key] ?? 0));
    rows.push(list[Math.floor(list.length / 2)]!);
  }
}

/** Starts `name`, runs `fn` on it, and stops it even when `fn` fails. */
async function withServer<T>(
  name: string,
  env: Record<string, string>,
  fn: (server: Server) => Promise<T>,
): Promise<T> {
  const server = await start(name, env);
  try {
    return await fn(server);
  } finally {
    await stop(server);
  }
}

async function start(
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<Server> {
  const spec = SERVERS[name]!;
  const port = freePort();
  const child = new Deno.Command("taskset", {
    args: ["-c", "0", ...spec.cmd],
    env: { ...spec.env, ...extraEnv, [spec.portEnv ?? "PORT"]: String(port) },
    // Centrifugo reads a config.json in its directory if there is one: not ours.
    ...(spec.dialect === "centrifugo" ? { cwd: DISK } : {}),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await listening(port, 200, 50);
  return { name, pid: child.pid, port, child };
}

async function stop(server: Server): Promise<void> {
  try {
    server.child.kill("SIGKILL");
  } catch { /* gone */ }
  await server.child.status;
}

/** CPU seconds (user + system) the process has used. */
function cpu(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!
    .split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident memory in bytes. */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))
    ?.[1];
  return Number(kb) * 1024;
}

/**
 * Runs one load job on core 1; measures the server (and a `second` one, given as `ws2` and
 * `http2`) between "measuring" and "result".
 */
async function generate(
  server: Server,
  job: Record<string, unknown>,
  onReady?: () => Promise<void>,
  second?: Server,
): Promise<Generated> {
  const gen = new Deno.Command("taskset", {
    args: [
      "-c",
      "1",
      GENERATOR,
      `${ROOT}bench/load.mjs`,
      JSON.stringify({
        ws: `ws://127.0.0.1:${server.port}`,
        http: `http://127.0.0.1:${server.port}`,
        dialect: SERVERS[server.name]!.dialect,
        centrifugoKey: CENTRIFUGO_API_KEY,
        ...(second
          ? {
            ws2: `ws://127.0.0.1:${second.port}`,
            http2: `http://127.0.0.1:${second.port}`,
            dialect2: SERVERS[second.name]!.dialect,
          }
          : {}),
        ...job,
      }),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let cpu0 = 0;
  let secondCpu0 = 0;
  let wall0 = 0;
  for await (const { event, fields } of loadEvents(gen.stdout)) {
    if (event === "ready" && onReady) {
      await onReady();
      gen.kill("SIGKILL");
    } else if (event === "measuring") {
      cpu0 = cpu(server.pid);
      if (second) secondCpu0 = cpu(second.pid);
      wall0 = performance.now();
    } else if (event === "result") {
      const serverCpu = cpu(server.pid) - cpu0;
      const secondCpu = second ? cpu(second.pid) - secondCpu0 : 0;
      const wall = (performance.now() - wall0) / 1000;
      await gen.status;
      return { result: fields, serverCpu, secondCpu, wall };
    }
  }
  await gen.status;
  return { result: {}, serverCpu: 0, secondCpu: 0, wall: 0 };
}

/** What every timed row says besides its rate: the server's share of its core, the latencies. */
function timed(
  { result, serverCpu, wall }: Generated,
): Pick<Row, "serverCpuShare" | "p50" | "p99" | "max"> {
  return {
    serverCpuShare: serverCpu / wall,
    p50: result.p50!,
    p99: result.p99!,
    max: result.max!,
  };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A paired scenario (`paired.ts`) on this runner's servers and load generator. */
async function runPaired(
  label: string,
  ids: number,
  perId: number,
  pairs: [Variant, string | Variant][],
  job?: Record<string, unknown>,
): Promise<Row[]> {
  const { paired } = await import("./paired.ts");
  return await paired({
    label,
    ids,
    perId,
    seconds,
    repeat,
    pairs,
    ...(job ? { job } : {}),
    start,
    stop,
    generate,
  });
}
const rows: Row[] = [];

async function idle(sockets: number): Promise<void> {
  const variants = ["alarmcast", ...PEERS].map((
    name,
  ): Variant => [name, name, () => ({})]);
  await measure(variants, "bytesPerSocket", async (server, label) => {
    await settle(quick ? 200 : 500);
    const before = rss(server.pid);
    let after = 0;
    await generate(server, { kind: "idle", sockets }, async () => {
      await settle(quick ? 500 : 2000); // let allocations settle
      after = rss(server.pid);
    });
    return {
      scenario: `idle ${sockets / 1000}k`,
      server: label,
      bytesPerSocket: (after - before) / sockets,
    };
  });
}

async function fanout(
  label: string,
  ids: number,
  perId: number,
  seconds: number,
): Promise<void> {
  await measure(
    VARIANTS,
    "deliveriesPerCpuSecond",
    async (running, server) => {
      const generated = await generate(running, {
        kind: "fanout",
        ids,
        perId,
        seconds,
      });
      const { result, serverCpu } = generated;
      return {
        scenario: `fanout ${label}`,
        server,
        deliveriesPerSecond: result.deliveries! / result.seconds!,
        deliveriesPerCpuSecond: result.deliveries! / serverCpu,
        ...timed(generated),
      };
    },
  );
}

/**
 * The same fan-out (1 id × `perId`) over WebSocket and over SSE on alarmcast, interleaved
 * `repeat` times; printed as its own table with SSE as a ratio to WebSocket.
 */
async function transports(perId: number, seconds: number): Promise<string> {
  const runs: Record<string, Row[]> = { websocket: [], sse: [] };
  for (let i = 0; i < repeat; i++) {
    for (const transport of ["websocket", "sse"]) {
      runs[transport]!.push(
        await withServer("alarmcast", {}, async (running) => {
          const { result, serverCpu, wall } = await generate(running, {
            kind: "fanout",
            ids: 1,
            perId,
            seconds,
            transport,
          });
          return {
            scenario: `fanout 1 id × ${perId / 1000}k`,
            server: transport,
            deliveriesPerSecond: result.deliveries! / result.seconds!,
            deliveriesPerCpuSecond: result.deliveries! / serverCpu,
            serverCpuShare: serverCpu / wall,
            p50: result.p50!,
            p99: result.p99!,
          };
        }),
      );
    }
  }
  const median = (list: Row[]) =>
    list.sort((a, b) => a.deliveriesPerCpuSecond! - b.deliveriesPerCpuSecond!)[
      Math.floor(list.length / 2)
    ]!;
  const ws = median(runs.websocket!);
  const sse = median(runs.sse!);
  const line = (name: string, row: Row) =>
    `| ${name} | ${Math.round(row.deliveriesPerCpuSecond!).toLocaleString("en")} | ${
      Math.round(row.deliveriesPerSecond!).toLocaleString("en")
    } | ${row.serverCpuShare!.toFixed(2)} | ${row.p50!.toFixed(1)} ms | ${
      row.p99!.toFixed(1)
    } ms |`;
  return [
    `1 id × ${perId.toLocaleString("en")} clients, alarmcast (memory), median of ${repeat}`,
    "",
    "| transport | deliveries/CPU-s | deliveries/s | server CPU share | p50 | p99 |",
    "| --- | --- | --- | --- | --- | --- |",
    line("WebSocket", ws),
    line("SSE", sse),
    "",
    `SSE ÷ WebSocket, deliveries per CPU-second: ${
      (sse.deliveriesPerCpuSecond! / ws.deliveriesPerCpuSecond!).toFixed(2)
    }`,
  ].join("\n");
}

async function publish(): Promise<void> {
  await measure(
    VARIANTS,
    "acceptedPerCpuSecond",
    (running, server) => published(running, server, "publish 1k ids", 64),
  );
}

/** `concurrency` POSTs in flight to 1,000 ids with no sockets, for `seconds`: one row. */
async function published(
  running: Server,
  server: string,
  scenario: string,
  concurrency: number,
): Promise<Row> {
  const generated = await generate(running, {
    kind: "publish",
    ids: 1000,
    concurrency,
    seconds,
  });
  const { result, serverCpu } = generated;
  if (result.errors) {
    throw new Error(`${server}: ${result.errors} POSTs failed`);
  }
  return {
    scenario,
    server,
    acceptedPerSecond: result.accepted! / result.seconds!,
    acceptedPerCpuSecond: result.accepted! / serverCpu,
    ...timed(generated),
  };
}

/**
 * The durable path: `concurrency` POSTs in flight to 1,000 ids, alarmcast with its log in the
 * store `store()` names (a fresh one each start) against the floor that store allows, measured in
 * the same run: bare Deno committing each alarm on its own (`peers/deno_bare.ts` with `KV_PATH`).
 */
async function durable(
  label: string,
  store: () => Record<string, string>,
  concurrency: number,
): Promise<void> {
  await measure(
    [
      ["alarmcast", `alarmcast (${label})`, store],
      ["deno-bare", `deno-bare + a commit per alarm (${label})`, store],
    ],
    "acceptedPerSecond",
    (running, server) =>
      published(
        running,
        server,
        `durable ${concurrency} in flight, ${label}`,
        concurrency,
      ),
  );
}

/**
 * POST-to-receipt latency at half load with 1k sockets (`ids` × `perId`): alarms at half the
 * closed-loop rate each server reaches on the same sockets (a 3 s probe), in an open loop. Every
 * receipt is a sample.
 */
async function halfLoad(
  ids: number,
  perId: number,
  seconds: number,
): Promise<void> {
  // Receipts are matched to POSTs by seq, which only alarmcast's API answers with.
  const variants = VARIANTS.filter(([name]) => SERVERS[name]!.dialect === undefined);
  await measure(variants, "p99", async (running, server) => {
    const probe = await generate(running, {
      kind: "fanout",
      ids,
      perId,
      seconds: quick ? 1 : 3,
    });
    const rate = Math.max(
      1,
      Math.floor(probe.result.alarms! / probe.result.seconds! / 2),
    );
    const generated = await generate(running, {
      kind: "halfload",
      ids,
      perId,
      rate,
      seconds,
    });
    const { result } = generated;
    if (result.missing) {
      throw new Error(`${server}: ${result.missing} receipts missing`);
    }
    return {
      scenario: `half load, ${ids === 1 ? "1 id" : `${ids} ids`} × ${perId}`,
      server,
      offeredPerSecond: rate,
      ...timed(generated),
    };
  });
}

async function machine(): Promise<Record<string, string>> {
  const version = async (cmd: string, arg = "--version") =>
    new TextDecoder().decode(
      (await new Deno.Command(cmd, { args: [arg] }).output()).stdout,
    ).split("\n")[0]!.trim();
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  return {
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    cores: String(navigator.hardwareConcurrency),
    memory: `${Math.round(Deno.systemMemoryInfo().total / 2 ** 30)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    node: await version("node"),
    bun: await version(BUN),
    generator: GENERATOR === BUN ? "bun" : "node",
  };
}

// The peers' and load generator's npm packages (ws, bun), pinned in bench/package-lock.json.
try {
  Deno.statSync(BUN);
} catch {
  // deno-lint-ignore no-console -- say why the first run waits
  console.log(
    "Installing bench/ npm packages once (ws, and Bun as a peer: about 100 MB)",
  );
  const npm = await new Deno.Command("npm", {
    args: ["ci", "--prefix", `${ROOT}bench`, "--no-audit", "--no-fund"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!npm.success) throw new Error("npm ci in bench/ failed");
}
const info = await machine();
// Quick: one size per scenario and a second per measurement, a sanity run within a minute.
const seconds = quick ? 1 : 10;
if (!only || only === "idle") {
  for (
    // 50k needs more than this sandbox's hard limit of 20k open files per process (see README).
    const n of quick ? [2000] : [10_000, 18_000]
  ) await idle(n);
}
if (!only || only === "fanout") {
  await fanout("1 id × 1k", 1, 1000, seconds);
  if (!quick) {
    await fanout("1 id × 10k", 1, 10_000, seconds);
    await fanout("1k ids × 10", 1000, 10, seconds);
  }
}
if (!only || only === "paired") {
  const sizes: [string, number, number][] = quick
    ? [["1 id × 200", 1, 200]]
    : [["1 id × 1k", 1, 1000], ["1 id × 5k", 1, 5000], [
      "500 ids × 10",
      500,
      10,
    ]];
  for (const [label, ids, perId] of sizes) {
    rows.push(
      ...await runPaired(
        label,
        ids,
        perId,
        [
          ...[VARIANTS[0]!, ON_DISK].flatMap((ours) =>
            ["deno-bare", "node-ws"].map((
              peer,
            ): [Variant, string] => [ours, peer])
          ),
          // Centrifugo keeps its channels in memory: against alarmcast's memory store.
          ...(CENTRIFUGO ? [[VARIANTS[0]!, "centrifugo"] as [Variant, string]] : []),
        ],
      ),
    );
  }
}
if (!only || only === "conditions") {
  // What a key costs: the same alarms, keyed (each raise updates its condition in the same
  // commit) on one server and keyless on the other, both with the log in KV on disk.
  const keyed: Variant = [ON_DISK[0], "keyed raises (KV on disk)", ON_DISK[2]];
  const keyless: Variant = [ON_DISK[0], "keyless (KV on disk)", ON_DISK[2]];
  const body = {
    level: "critical",
    device: "boiler-7",
    message: "Pressure above limit",
  };
  // Both sides first run their own alarms for a while unmeasured: the keyed path compiled, and
  // every condition of the "*" rows raised once, so those rows measure raises of known
  // conditions; the "+" row raises a condition never seen before every time.
  for (
    const [label, ids, perId, key] of quick ? [["50 ids × 1", 50, 1, "*"]] as const : [
      ["50 ids × 1", 50, 1, "*"],
      ["50 ids × 1, a new key each", 50, 1, "+"],
      ["1 id × 1k", 1, 1000, "*"],
    ] as const
  ) {
    rows.push(
      ...await runPaired(label, ids, perId, [[keyed, keyless]], {
        alarm: { ...body, key },
        alarm2: body,
        warmSeconds: quick ? 1 : 5,
      }),
    );
  }
  const { conditionsTable } = await import("./conditions.ts");
  // deno-lint-ignore no-console -- the runner prints its tables
  console.log(`\nConditions\n\n${await conditionsTable(quick)}\n`);
}
if (!only || only === "publish") await publish();
if (only === "wide") {
  // Past one process: 15,000 sockets per server process and per generator, all on one id.
  const { wide } = await import("./wide.ts");
  const sockets = Number(flag("--wide-sockets") ?? 60_000);
  const processes = Math.max(2, Math.ceil(sockets / 15_000));
  const common = {
    sockets,
    servers: processes,
    generators: processes,
    alarms: quick ? 3 : 20,
    generator: GENERATOR,
  };
  const onFile = () => ({
    ...common,
    kvPath: `${DISK}/kv-${++disks}.sqlite3`,
    label: "one SQLite file",
  });
  rows.push(await wide(onFile()));
  if (sockets <= 18_000) {
    // Where deno serve --parallel fits (one process's descriptors): its isolates against as
    // many processes.
    rows.push(await wide({ ...onFile(), parallel: true }));
  }
  const bin = findDenokv();
  if (bin) {
    await using denokv = await DenoKv.start(bin, freePort());
    rows.push(
      await wide({
        ...common,
        kvPath: denokv.url,
        env: { DENO_KV_ACCESS_TOKEN: denokv.token },
        label: "denokv",
      }),
    );
  }
}
if (!only || only === "durable") {
  await durable(
    "SQLite",
    () => ({ KV_PATH: `${DISK}/kv-${++disks}.sqlite3` }),
    64,
  );
  const bin = findDenokv();
  if (bin) {
    // A fresh denokv for each server started, as a fresh file for SQLite: a process that finds
    // another's presence (a run before it) follows the feed, and measures another case.
    const pool = await Promise.all(
      Array.from({ length: 2 * repeat }, () => DenoKv.start(bin, freePort())),
    );
    try {
      let next = 0;
      await durable("denokv", () => {
        const denokv = pool[next++]!;
        return { KV_PATH: denokv.url, DENO_KV_ACCESS_TOKEN: denokv.token };
      }, 8);
    } finally {
      for (const denokv of pool) await denokv[Symbol.asyncDispose]();
    }
  } else {
    // deno-lint-ignore no-console -- say why a scenario is missing
    console.log(
      "The denokv row is left out: no denokv binary (cargo install denokv)",
    );
  }
}
if (!only || only === "halfload") {
  await halfLoad(1, 1000, seconds);
  if (!quick) await halfLoad(100, 10, seconds);
}
// Counted, not timed: left out of a quick run unless asked for.
if ((!only && !quick) || only === "hostile") {
  // Measured from outside the server, printed as its own table (docs/security.md).
  const { hostileTable } = await import("./hostile.ts");
  // deno-lint-ignore no-console -- the runner prints its tables
  console.log(`\nHostile connections\n\n${await hostileTable()}\n`);
}
if (!only || only === "transports") {
  // deno-lint-ignore no-console -- the runner prints its tables
  console.log(`\nTransports\n\n${await transports(1000, seconds)}\n`);
}
if ((!only && !quick) || only === "kvcost") {
  // Counted, not timed: printed as its own table (docs/performance.md, "KV cost").
  const { kvCostTable } = await import("./kv_cost.ts");
  // deno-lint-ignore no-console -- the runner prints its tables
  console.log(`\nKV cost\n\n${await kvCostTable()}\n`);
}
if (only === "soak") {
  const { soak } = await import("./soak.ts");
  rows.push(
    ...await soak({
      // As it would run in production: the log in KV on disk.
      start: () => start(ON_DISK[0], ON_DISK[2]()),
      server: ON_DISK[1],
      stop,
      generate,
      rss,
      minutes: soakMinutes,
    }),
  );
}

printTable(info, rows, PEERS);
await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
const file = `${ROOT}bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
await Deno.writeTextFile(
  file,
  JSON.stringify({ machine: info, rows }, null, 2) + "\n",
);
// deno-lint-ignore no-console -- a CLI's output
console.log(`\nWritten to ${file}`);
await Deno.remove(DISK, { recursive: true });
