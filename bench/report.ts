/**
 * Formats benchmark rows: one table of raw figures, one of alarmcast's figures as ratios to each
 * peer measured in the same run.
 *
 * @module
 */

/** One measurement of one server in one scenario. */
export interface Row {
  scenario: string;
  server: string;
  deliveriesPerSecond?: number;
  deliveriesPerCpuSecond?: number;
  acceptedPerSecond?: number;
  acceptedPerCpuSecond?: number;
  /** Alarms per second the open-loop generator sent (half load). */
  offeredPerSecond?: number;
  /** Server CPU time over wall time while measured; below 0.9 the load generator was the limit. */
  serverCpuShare?: number;
  bytesPerSocket?: number;
  p50?: number;
  p99?: number;
  max?: number;
  rssBeforeBytes?: number;
  rssDriftBytes?: number;
  rssAfterLeaveBytes?: number;
  /** V8 heap in use once the clients have gone (the server's own `/metrics`). */
  heapAfterLeaveBytes?: number;
  /** Paired runs: our deliveries per CPU-second over the peer's, median of the runs. */
  pairedRatio?: number;
  /** Paired runs: the lowest and highest ratio of the runs. */
  pairedLow?: number;
  pairedHigh?: number;
  /** Paired runs: our p99 (POST to the last socket's receipt) over the peer's, median. */
  pairedP99?: number;
}

const METRICS: [
  keyof Row,
  string,
  (n: number) => string,
  "higher" | "lower",
][] = [
  [
    "deliveriesPerSecond",
    "deliveries/s",
    (n) => Math.round(n).toLocaleString("en"),
    "higher",
  ],
  [
    "deliveriesPerCpuSecond",
    "deliveries/CPU-s",
    (n) => Math.round(n).toLocaleString("en"),
    "higher",
  ],
  [
    "acceptedPerSecond",
    "accepted/s",
    (n) => Math.round(n).toLocaleString("en"),
    "higher",
  ],
  [
    "acceptedPerCpuSecond",
    "accepted/CPU-s",
    (n) => Math.round(n).toLocaleString("en"),
    "higher",
  ],
  [
    "offeredPerSecond",
    "offered/s",
    (n) => Math.round(n).toLocaleString("en"),
    "higher",
  ],
  [
    "bytesPerSocket",
    "RSS/socket",
    (n) => `${(n / 1024).toFixed(1)} KB`,
    "lower",
  ],
  [
    "pairedRatio",
    "deliveries/CPU-s, ours ÷ peer",
    (n) => `${n.toFixed(3)}x`,
    "higher",
  ],
  ["pairedLow", "lowest", (n) => `${n.toFixed(3)}x`, "higher"],
  ["pairedHigh", "highest", (n) => `${n.toFixed(3)}x`, "higher"],
  ["pairedP99", "p99, ours ÷ peer", (n) => `${n.toFixed(2)}x`, "lower"],
  ["p50", "p50", (n) => `${n.toFixed(2)} ms`, "lower"],
  ["p99", "p99", (n) => `${n.toFixed(2)} ms`, "lower"],
  ["max", "max", (n) => `${n.toFixed(1)} ms`, "lower"],
  ["serverCpuShare", "server CPU", (n) => `${Math.round(n * 100)}%`, "lower"],
  [
    "rssBeforeBytes",
    "RSS before",
    (n) => `${(n / 2 ** 20).toFixed(1)} MiB`,
    "lower",
  ],
  [
    "rssDriftBytes",
    "RSS drift",
    (n) => `${(n / 2 ** 20).toFixed(1)} MiB`,
    "lower",
  ],
  [
    "rssAfterLeaveBytes",
    "RSS after leave",
    (n) => `${(n / 2 ** 20).toFixed(1)} MiB`,
    "lower",
  ],
  [
    "heapAfterLeaveBytes",
    "heap after leave",
    (n) => `${(n / 2 ** 20).toFixed(1)} MiB`,
    "lower",
  ],
];

/** Markdown tables of `rows`, with ratios of "alarmcast" rows to each of `peers`. */
export function formatTables(
  machine: Record<string, string>,
  rows: Row[],
  peers: string[],
): string {
  const out: string[] = [];
  out.push(
    Object.entries(machine).map(([k, v]) => `${k}: ${v}`).join(" · "),
    "",
  );
  // One table per kind of scenario (its first word), with only the columns it fills.
  const kinds = [...new Set(rows.map((r) => r.scenario.split(" ")[0]))];
  for (const kind of kinds) {
    const group = rows.filter((r) => r.scenario.split(" ")[0] === kind);
    const columns = METRICS.filter(([key]) => group.some((r) => r[key] !== undefined));
    const limited = group.some((r) => r.serverCpuShare !== undefined);
    out.push(
      `| scenario | server | ${columns.map(([, label]) => label).join(" | ")} |${
        limited ? " limited by |" : ""
      }`,
      `| --- | --- | ${columns.map(() => "---:").join(" | ")} |${limited ? " --- |" : ""}`,
    );
    for (const row of group) {
      const cells = columns.map(([key, , fmt]) =>
        row[key] === undefined ? "" : fmt(row[key] as number)
      );
      const limit = row.serverCpuShare === undefined
        ? ""
        : row.serverCpuShare < 0.9
        ? "load generator"
        : "server";
      out.push(
        `| ${row.scenario} | ${row.server} | ${cells.join(" | ")} |${limited ? ` ${limit} |` : ""}`,
      );
    }
    out.push("");
  }
  const used = METRICS.filter(([key]) => rows.some((r) => r[key] !== undefined));
  const ratioRows: string[] = [];
  for (const scenario of new Set(rows.map((r) => r.scenario))) {
    for (
      const ours of rows.filter((r) => r.scenario === scenario && r.server.startsWith("alarmcast"))
    ) {
      for (const [key, label] of used) {
        // CPU share says who was the limit, and the offered rate is an input: neither compares.
        if (
          key === "serverCpuShare" || key === "offeredPerSecond" ||
          ours[key] === undefined
        ) {
          continue;
        }
        const ratios = peers.map((peer) => {
          const theirs = rows.find((r) => r.scenario === scenario && r.server === peer)?.[key];
          return typeof theirs === "number" && theirs > 0
            ? `${((ours[key] as number) / theirs).toFixed(2)}x`
            : "";
        });
        if (ratios.some((r) => r)) {
          ratioRows.push(
            `| ${scenario} (${ours.server}) | ${label} | ${ratios.join(" | ")} |`,
          );
        }
      }
    }
  }
  if (ratioRows.length > 0) {
    out.push(
      `Ratios of alarmcast to each peer (same run; above 1.0 is better for throughput, below 1.0 for memory and latency):`,
      "",
      `| scenario | metric | ${peers.map((p) => `vs ${p}`).join(" | ")} |`,
      `| --- | --- | ${peers.map(() => "---:").join(" | ")} |`,
      ...ratioRows,
    );
  }
  return out.join("\n");
}

/** Prints {@linkcode formatTables}. */
export function printTable(
  machine: Record<string, string>,
  rows: Row[],
  peers: string[],
): void {
  // deno-lint-ignore no-console -- the benchmark's output
  console.log(formatTables(machine, rows, peers));
}
