/**
 * `deno task bench --only hostile`: what hostile connections cost one server process, measured
 * from outside it (RSS from /proc): connections that never finish their request head
 * (slowloris), and WebSocket clients that stop reading while alarms are pushed to them.
 *
 * @module
 */
import { freePort, listening } from "../tests/support/ports.ts";
import { RawSocket } from "../tests/support/raw_ws.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** Alarms of 16 KB pushed to each non-reading socket: 16 MB, past what loopback buffers hold. */
const ROUNDS = 1000;

function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))
    ?.[1];
  return Number(kb) * 1024;
}

function openFiles(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

/** Markdown lines of what `count` connections of each kind cost the server. */
export async function hostileTable(
  slowloris = 2000,
  readers = 20,
): Promise<string> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN],
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
      LOG_LEVEL: "error",
      UPGRADES_PER_MINUTE: "0",
      MAX_SESSIONS_PER_ADDRESS: "100000",
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const lines: string[] = [];
  try {
    await listening(port);
    await settle();
    const base = rss(child.pid);
    const files = openFiles(child.pid);

    const held: Deno.Conn[] = [];
    for (let i = 0; i < slowloris; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(
        new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n"),
      );
      held.push(conn);
    }
    await settle();
    const perSlow = (rss(child.pid) - base) / slowloris;
    const slowFiles = openFiles(child.pid) - files;
    for (const conn of held) conn.close();
    await settle();

    const before = rss(child.pid);
    const stuck: RawSocket[] = [];
    for (let i = 0; i < readers; i++) {
      stuck.push(await RawSocket.connect(port, `/websocket/stuck-${i % 10}`));
    }
    const alarm = JSON.stringify({ text: "x".repeat(16_000) });
    // Until every socket passed the slow-consumer threshold (1 MiB) and was closed with 4008.
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from(
          { length: 10 },
          (_, id) =>
            fetch(`http://127.0.0.1:${port}/api/alarms/stuck-${id}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: alarm,
            }).then((res) => res.body?.cancel()),
        ),
      );
    }
    await settle();
    const perReader = (rss(child.pid) - before) / readers;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`))
      .text();
    const gauge = (name: string) =>
      new RegExp(`^alarmcast_${name} (\\d+)$`, "m").exec(metrics)?.[1];
    const closing = gauge("sessions_closing");
    const cut = gauge("slow_consumer_closes_total");
    for (const socket of stuck) socket.close();
    await settle();
    const after = rss(child.pid);

    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    lines.push(
      `| slowloris connections (half a request head) | ${slowloris} | ${
        (perSlow / 1024).toFixed(1)
      } KiB each | ${slowFiles} file descriptors | held until the client leaves |`,
      `| WebSocket clients that stop reading, pushed 16 MB each | ${readers} | ${
        mib(perReader)
      } each | ${cut} closed with 4008, ${closing} of them still closing | held until the client leaves; ${
        mib(after - before)
      } above the start once they left |`,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  return [
    "| what | connections | server memory | state | released |",
    "| --- | --- | --- | --- | --- |",
    ...lines,
  ].join("\n");
}

if (import.meta.main) {
  // deno-lint-ignore no-console -- a benchmark prints its table
  console.log(await hostileTable());
}
