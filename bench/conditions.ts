/**
 * What conditions cost a connecting client and a large audience, on a real process (`main.ts`,
 * the log in KV on disk, pinned to core 0; this process is the client, on core 1):
 *
 * - **Snapshot**: an id with 1,000 active conditions; a v1 socket opens, and the time from
 *   `new WebSocket` to its `conditions` frame (1,000 conditions) is measured, 20 times.
 * - **Transitions vs alarms**: 1,000 v1 sockets on one id; alternately a keyless alarm and a
 *   transition (shelve, unshelve) of one condition; the time from the request to the last of
 *   the 1,000 sockets receiving it, and the server's CPU per delivery of each kind.
 *
 * `deno task bench --only conditions` runs it (with the paired keyed-vs-keyless run), or
 * `deno run -A bench/conditions.ts [--quick]`. A benchmark, never a test.
 *
 * @module
 */
import { ServerProcess } from "../tests/support/process.ts";
import { freePort } from "../tests/support/ports.ts";
import { healthy } from "../tests/support/wait.ts";

const CLK_TCK = 100;

/** Server CPU seconds so far. */
function cpu(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!
    .split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function percentile(values: number[], p: number): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function post(http: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${http}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
}

/** Opens a v1 socket to `id`; `onFrame` gets each parsed frame. */
function open(
  ws: string,
  id: string,
  onFrame: (frame: { type: string }) => void,
) {
  const socket = new WebSocket(`${ws}/websocket/${id}`, "alarms.v1");
  socket.onmessage = (e) => onFrame(JSON.parse(e.data));
  return new Promise<WebSocket>((resolve, reject) => {
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error("Socket failed"));
  });
}

/** Milliseconds from opening a v1 socket to its `conditions` frame, `rounds` times. */
async function snapshots(ws: string, rounds: number): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    let socket: WebSocket | undefined;
    await new Promise<void>((resolve, reject) => {
      open(ws, "snap", (frame) => {
        if (frame.type === "conditions") {
          const { conditions } = frame as unknown as { conditions: unknown[] };
          if (conditions.length !== 1000) {
            reject(new Error(`${conditions.length} conditions`));
          }
          times.push(performance.now() - started);
          resolve();
        }
      }).then((s) => socket = s, reject);
    });
    socket?.close();
  }
  return times;
}

/**
 * Alternates a keyless alarm and a transition to 1,000 sockets of one id, `rounds` of each;
 * latency to the last socket, and server CPU per delivery, of each kind.
 */
async function fanout(
  server: { http: string; ws: string; pid: number },
  rounds: number,
) {
  let received = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: 1000 },
      () => open(server.ws, "fan", () => received++),
    ),
  );
  await post(server.http, "/api/alarms/fan", { key: "k", level: "critical" });
  const until = async (n: number) => {
    while (received < n) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  await until(1000);
  const kinds = {
    alarm: { latency: [] as number[], cpu: 0 },
    transition: { latency: [] as number[], cpu: 0 },
  };
  for (let r = 0; r < rounds; r++) {
    for (const kind of ["alarm", "transition"] as const) {
      const target = received + 1000;
      const cpu0 = cpu(server.pid);
      const started = performance.now();
      if (kind === "alarm") {
        await post(server.http, "/api/alarms/fan", { level: "minor", r });
      } else {
        const action = r % 2 === 0 ? "shelve" : "unshelve";
        const body = action === "shelve" ? { reason: "bench", durationSeconds: 3600 } : {};
        await post(server.http, `/api/conditions/fan/k/${action}`, body);
      }
      await until(target);
      kinds[kind].latency.push(performance.now() - started);
      kinds[kind].cpu += cpu(server.pid) - cpu0;
    }
  }
  for (const socket of sockets) socket.close();
  return kinds;
}

/** Runs both measures and returns them as a Markdown table for docs/performance.md. */
export async function conditionsTable(quick = false): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "alarmcast-conditions-" });
  const port = freePort();
  const proc = new ServerProcess({
    PORT: String(port),
    KV_PATH: `${dir}/kv.sqlite3`,
    LOG_LEVEL: "warn",
    UPGRADES_PER_MINUTE: "0",
    MAX_SESSIONS_PER_ID: "100000",
    MAX_SESSIONS_PER_ADDRESS: "100000",
  });
  const http = `http://127.0.0.1:${port}`;
  const ws = `ws://127.0.0.1:${port}`;
  try {
    await healthy(http, 15_000);
    new Deno.Command("taskset", { args: ["-pc", "0", String(proc.child.pid)] })
      .outputSync();
    new Deno.Command("taskset", { args: ["-pc", "1", String(Deno.pid)] })
      .outputSync();
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, j) =>
            post(http, "/api/alarms/snap", {
              key: `line-${i + j}/pressure`,
              level: "major",
            }),
        ),
      );
    }
    const snap = await snapshots(ws, quick ? 5 : 20);
    const fan = await fanout(
      { http, ws, pid: proc.child.pid },
      quick ? 10 : 50,
    );
    const rows = [
      [
        "snapshot of 1,000 conditions to a connecting v1 client",
        snap,
        undefined,
      ],
      ["keyless alarm to 1,000 v1 sockets", fan.alarm.latency, fan.alarm.cpu],
      [
        "transition to 1,000 v1 sockets",
        fan.transition.latency,
        fan.transition.cpu,
      ],
    ] as const;
    const deliveries = (quick ? 10 : 50) * 1000;
    return [
      "| measure | p50 ms | p99 ms | server CPU µs per delivery |",
      "| --- | --: | --: | --: |",
      ...rows.map(([name, times, cpuSeconds]) =>
        `| ${name} | ${percentile(times, 0.5).toFixed(1)} | ${
          percentile(times, 0.99).toFixed(1)
        } | ${cpuSeconds === undefined ? "" : (cpuSeconds / deliveries * 1e6).toFixed(2)} |`
      ),
    ].join("\n");
  } finally {
    await proc[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  // deno-lint-ignore no-console -- a benchmark prints its table
  console.log(await conditionsTable(Deno.args.includes("--quick")));
}
