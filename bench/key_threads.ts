/**
 * Where a condition key's cost goes, per thread: two alarmcast processes with their logs in KV on
 * disk (both pinned to core 0), 50 ids with one socket each on both; one closed loop alternates
 * keyed raises (50 keys per id in turn) to the first and keyless alarms to the second, each
 * awaited until its socket got it. Prints each server's CPU per alarm by thread (`/proc/<pid>/task`:
 * the main thread, Deno KV's blocking SQLite threads, V8's helpers), and their ratio.
 *
 * `deno run --allow-all bench/key_threads.ts [alarms]` (20,000 by default, half to each).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const CLK_TCK = 100;
const IDS = Array.from({ length: 50 }, (_, i) => `pair-${i}`);

interface Server {
  child: Deno.ChildProcess;
  port: number;
  /** Frames received per id. */
  received: number;
  waiting: (() => void)[];
}

async function start(kvPath: string): Promise<Server> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const child = new Deno.Command("taskset", {
    args: ["-c", "0", Deno.execPath(), "run", "--allow-all", `${ROOT}main.ts`],
    env: {
      HOST: "127.0.0.1",
      PORT: String(port),
      KV_PATH: kvPath,
      UPGRADES_PER_MINUTE: "0",
      MAX_SESSIONS_PER_ADDRESS: "1000000",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0;; i++) {
    try {
      await (await fetch(`http://127.0.0.1:${port}/healthz`)).body?.cancel();
      break;
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const server: Server = { child, port, received: 0, waiting: [] };
  for (const id of IDS) {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/websocket/${id}`);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    socket.onmessage = () => {
      server.received++;
      server.waiting.shift()?.();
    };
  }
  return server;
}

/** CPU seconds of `pid` by thread kind (user and system together). */
function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const kind = name === "deno" ? "main" : name.startsWith("sw-") ? "SQLite" : "V8 and other";
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(
      kind,
      (out.get(kind) ?? 0) +
        (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
    );
  }
  return out;
}

const total = Number(Deno.args[0] ?? 20_000);
const dir = await Deno.makeTempDir({ prefix: "alarmcast-key-threads-" });
const keyed = await start(`${dir}/keyed.sqlite3`);
const keyless = await start(`${dir}/keyless.sqlite3`);

async function run(from: number, n: number): Promise<void> {
  for (let k = from; k < from + n; k++) {
    const server = k % 2 === 0 ? keyed : keyless;
    const got = new Promise<void>((resolve) => server.waiting.push(resolve));
    const body = {
      level: "critical",
      device: "boiler-7",
      message: "Pressure above limit",
      ...(server === keyed ? { key: `k-${(k >> 1) % 50}` } : {}),
    };
    const id = IDS[Math.floor(Math.random() * IDS.length)];
    const res = await fetch(
      `http://127.0.0.1:${server.port}/api/alarms/${id}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      },
    );
    await res.body?.cancel();
    if (res.status !== 202) throw new Error(`POST answered ${res.status}`);
    await got;
  }
}

try {
  await run(0, 2000); // warm up: every condition raised once, the code optimized
  const before = [threads(keyed.child.pid), threads(keyless.child.pid)];
  await run(2000, total);
  const after = [threads(keyed.child.pid), threads(keyless.child.pid)];
  const perAlarm = (i: number, kind: string) =>
    ((after[i]!.get(kind) ?? 0) - (before[i]!.get(kind) ?? 0)) * 1e6 /
    (total / 2);
  const rows = ["main", "SQLite", "V8 and other"].map((kind) =>
    `| ${kind} | ${perAlarm(1, kind).toFixed(0)} | ${perAlarm(0, kind).toFixed(0)} |`
  );
  const sum = (i: number) =>
    ["main", "SQLite", "V8 and other"].reduce((s, k) => s + perAlarm(i, k), 0);
  // deno-lint-ignore no-console -- a bench prints its table
  console.log(
    [
      "| thread | keyless µs per alarm | keyed µs per alarm |",
      "| --- | --: | --: |",
      ...rows,
      `| all | ${sum(1).toFixed(0)} | ${sum(0).toFixed(0)} |`,
      "",
      `keyed deliveries per CPU-second ÷ keyless: ${(sum(1) / sum(0)).toFixed(3)}x`,
    ].join("\n"),
  );
} finally {
  for (const server of [keyed, keyless]) {
    server.child.kill("SIGKILL");
    await server.child.status;
  }
  await Deno.remove(dir, { recursive: true });
}
