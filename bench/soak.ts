/**
 * The soak: clients held at half the measured maximum alarm rate for a while, then every client
 * leaves. Reports RSS drift over the run and RSS once the clients are gone.
 *
 * @module
 */
import type { Row } from "./report.ts";
import type { Generated, Server } from "./types.ts";

/** Runs the soak against a fresh alarmcast server. */
export async function soak(deps: {
  start: () => Promise<Server>;
  /** The label of the server in the table. */
  server: string;
  stop: (server: Server) => Promise<void>;
  generate: (
    server: Server,
    job: Record<string, unknown>,
  ) => Promise<Generated>;
  rss: (pid: number) => number;
  minutes: number;
}): Promise<Row[]> {
  const server = await deps.start();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const baseline = deps.rss(server.pid); // before any client

  // Half of the closed-loop maximum with 1k sockets on one id.
  const probe = await deps.generate(server, {
    kind: "fanout",
    ids: 1,
    perId: 1000,
    seconds: 5,
  });
  const rate = Math.max(
    1,
    Math.floor(probe.result.alarms! / probe.result.seconds! / 2),
  );
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(deps.rss(server.pid)), 10_000);
  const { result } = await deps.generate(server, {
    kind: "soak",
    ids: 10,
    perId: 100,
    rate,
    seconds: deps.minutes * 60,
  });
  clearInterval(sampler);
  if (result.errors! > 0 || result.missing! > 0) {
    throw new Error(
      `Soak: ${result.errors} POSTs failed, ${result.missing} receipts missing (${result.where})`,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 10_000)); // clients gone: let memory return
  const after = deps.rss(server.pid);
  // How much of that is V8 heap in use (the rest: heap V8 keeps reserved, and native memory).
  const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`))
    .text();
  const heapUsed = Number(
    /^alarmcast_memory_heap_used_bytes (\d+)$/m.exec(metrics)?.[1],
  );
  await deps.stop(server);
  const first = samples[1] ?? samples[0] ?? after; // skip the warm-up sample
  return [{
    scenario: `soak ${deps.minutes} min at ${rate} alarms/s`,
    server: deps.server,
    deliveriesPerSecond: result.deliveries! / result.seconds!,
    rssDriftBytes: (samples[samples.length - 1] ?? first) - first,
    rssBeforeBytes: baseline,
    rssAfterLeaveBytes: after,
    heapAfterLeaveBytes: heapUsed,
    p99: result.p99!,
  }];
}
