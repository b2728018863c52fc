/**
 * One alarm to tens of thousands of sockets on one host, past one process's 20,000 file
 * descriptors: `servers` alarmcast processes sharing one store (a SQLite file, or a denokv) and
 * one port (`REUSE_PORT=1`: the kernel spreads the connections over them), and `generators`
 * load-generator processes (`load.mjs`, kind `wide`), each holding its share of the sockets,
 * spread over source addresses 127.0.0.2–251. All sockets are on one id. Measures the servers' resident memory per idle
 * socket, the time from each POST to the moment the last of all sockets has the alarm, and
 * deliveries per second of the servers' CPU (all of them together).
 *
 * Servers run on core 0, generators on core 1, as in the other scenarios.
 *
 * @module
 */
import { loadEvents } from "./load_events.ts";
import type { Row } from "./report.ts";
import { freePort, listening } from "../tests/support/ports.ts";

/** What one wide run needs. */
export interface WideOptions {
  sockets: number;
  servers: number;
  generators: number;
  /** Alarms sent, one at a time, each once every socket has the one before. */
  alarms: number;
  /** The store every server opens (`KV_PATH`). */
  kvPath: string;
  /** More of the servers' environment (e.g. a KV Connect token). */
  env?: Record<string, string>;
  /** What the store is, for the table. */
  label: string;
  /** The load generator's runtime (Bun or Node). */
  generator: string;
  /**
   * One `deno serve --parallel` process instead (`servers` isolates in it): its isolates share
   * one process's file descriptors.
   */
  parallel?: boolean;
}

const ROOT = new URL("../", import.meta.url).pathname;
const CLK_TCK = 100;
const ID = "wide";

function stat(pid: number): { cpu: number; rss: number } {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  const kb = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
  return {
    cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
    rss: Number(kb) * 1024,
  };
}

const sum = (pids: number[], key: "cpu" | "rss") =>
  pids.reduce((total, pid) => total + stat(pid)[key], 0);

/** Runs one wide fan-out and returns its row. */
export async function wide(options: WideOptions): Promise<Row> {
  const port = freePort();
  const command = options.parallel
    ? ["serve", "--parallel", "--host", "127.0.0.1", "--port", String(port), "--allow-all"]
    : ["run", "--allow-all"];
  const servers = Array.from(
    { length: options.parallel ? 1 : options.servers },
    () =>
      new Deno.Command("taskset", {
        args: ["-c", "0", Deno.execPath(), ...command, `${ROOT}main.ts`],
        env: {
          ...(options.parallel ? { SERVE_MODE: "export", DENO_JOBS: String(options.servers) } : {}),
          ...options.env,
          HOST: "127.0.0.1",
          PORT: String(port),
          REUSE_PORT: "1",
          KV_PATH: options.kvPath,
          UPGRADES_PER_MINUTE: "0",
          MAX_SESSIONS_PER_ID: "1000000",
          MAX_SESSIONS_PER_ADDRESS: "1000000",
          MAX_SESSIONS: "1000000",
        },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn(),
  );
  const generators: Deno.ChildProcess[] = [];
  try {
    await listening(port, 300, 100);
    const pids = servers.map((s) => s.pid);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // every process listening
    const rssBefore = sum(pids, "rss");
    const share = Math.ceil(options.sockets / options.generators);
    const waiting = new Map<number, number[]>(); // alarm n -> receipt times, one per generator
    const ready: Promise<void>[] = [];
    for (let g = 0; g < options.generators; g++) {
      const sockets = Math.min(share, options.sockets - g * share);
      const child = new Deno.Command("taskset", {
        args: [
          "-c",
          "1",
          options.generator,
          `${ROOT}bench/load.mjs`,
          JSON.stringify({
            kind: "wide",
            id: ID,
            sockets,
            sourceOffset: g * share,
            ws: `ws://127.0.0.1:${port}`,
            http: `http://127.0.0.1:${port}`,
          }),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      generators.push(child);
      ready.push(follow(child, ({ n, at }) => {
        const times = waiting.get(n!) ?? [];
        times.push(at!);
        waiting.set(n!, times);
      }));
    }
    await Promise.all(ready);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let allocations settle
    const rssAfter = sum(pids, "rss");

    const latencies: number[] = [];
    const cpu0 = sum(pids, "cpu");
    for (let n = 1; n <= options.alarms; n++) {
      const t0 = performance.timeOrigin + performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/alarms/${ID}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ wide: n, level: "critical", message: "Pressure above limit" }),
      });
      await res.body?.cancel();
      if (res.status !== 202) throw new Error(`POST answered ${res.status}`);
      for (let wait = 0; (waiting.get(n)?.length ?? 0) < options.generators; wait++) {
        if (wait > 3000) throw new Error(`Alarm ${n} did not reach every socket within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      latencies.push(Math.max(...waiting.get(n)!) - t0);
    }
    const cpu = sum(pids, "cpu") - cpu0;
    latencies.sort((a, b) => a - b);
    return {
      scenario: `wide ${options.sockets / 1000}k sockets, ${options.servers} ${
        options.parallel ? "isolates of deno serve --parallel" : "processes"
      } (${options.label})`,
      server: "alarmcast",
      bytesPerSocket: (rssAfter - rssBefore) / options.sockets,
      deliveriesPerCpuSecond: (options.alarms * options.sockets) / cpu,
      p50: latencies[Math.floor(latencies.length / 2)]!,
      max: latencies.at(-1)!,
    };
  } finally {
    for (const child of [...generators, ...servers]) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    }
  }
}

/**
 * Reads `child`'s events, handing each to `onEvent`; resolves at its "ready" (rejects if it ends
 * first, or a socket fails) and keeps reading after.
 */
function follow(
  child: Deno.ChildProcess,
  onEvent: (fields: Record<string, number>) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    void (async () => {
      for await (const { event, fields, message } of loadEvents(child.stdout)) {
        if (event === "ready") resolve();
        else if (event === "socket_error") reject(new Error(message));
        else if (event === "all") onEvent(fields);
      }
      reject(new Error("A load generator ended before it was ready"));
    })();
  });
}
