/**
 * Paired runs: alarmcast and one peer served at once (both pinned to core 0, each with the same
 * sockets), one closed loop alternating its alarms between them. Both are measured over the same
 * window, so the noise of a shared machine (another tenant, a frequency change) weighs on both
 * alike, and the ratio of their CPU per alarm holds to a few percent where separate runs drift
 * by ten or more.
 *
 * @module
 */
import type { Row } from "./report.ts";
import type { Generated, Server, Variant } from "./types.ts";

/** What a paired scenario needs from the runner. */
export interface PairedOptions {
  /** The scenario's label, e.g. "1 id × 1k". */
  label: string;
  ids: number;
  perId: number;
  seconds: number;
  /** Runs per pair, interleaved; the table shows the median and the range. */
  repeat: number;
  /** Which alarmcast variant against which peer (a server's name, or a variant of it). */
  pairs: [ours: Variant, peer: string | Variant][];
  /** More of the load job: e.g. `alarm` and `alarm2`, the bodies each side is sent. */
  job?: Record<string, unknown>;
  start: (name: string, env: Record<string, string>) => Promise<Server>;
  stop: (server: Server) => Promise<void>;
  generate: (
    server: Server,
    job: Record<string, unknown>,
    onReady: undefined,
    second: Server,
  ) => Promise<Generated>;
}

/**
 * One row per pair: alarmcast's deliveries per CPU-second over the peer's, measured in the same
 * window (median of `repeat` runs, with the lowest and highest).
 */
export async function paired(options: PairedOptions): Promise<Row[]> {
  const { pairs, ids, perId, seconds } = options;
  const ratios = pairs.map((): number[] => []);
  /** Our p99 (POST to the last socket's receipt) over theirs, per run. */
  const tails = pairs.map((): number[] => []);
  for (let run = 0; run < options.repeat; run++) {
    for (const [i, [[name, , env], peer]] of pairs.entries()) {
      const ours = await options.start(name, env());
      const [peerName, , peerEnv] = typeof peer === "string" ? [peer, peer, () => ({})] : peer;
      const theirs = await options.start(peerName, peerEnv()).catch(
        async (error) => {
          await options.stop(ours);
          throw error;
        },
      );
      try {
        const { result, serverCpu, secondCpu } = await options.generate(
          ours,
          { kind: "paired", ids, perId, seconds, ...options.job },
          undefined,
          theirs,
        );
        // Deliveries per CPU-second, ours over theirs: their CPU per alarm over ours.
        ratios[i]!.push(
          (secondCpu / result.alarms2!) / (serverCpu / result.alarms!),
        );
        if (result.p99 && result.p99_2) tails[i]!.push(result.p99 / result.p99_2);
      } finally {
        await Promise.all([options.stop(ours), options.stop(theirs)]);
      }
    }
  }
  return pairs.map(([[, label], peer], i) => {
    const sorted = ratios[i]!.sort((a, b) => a - b);
    const tail = tails[i]!.sort((a, b) => a - b);
    return {
      scenario: `paired ${options.label}`,
      server: `${label} ÷ ${typeof peer === "string" ? peer : peer[1]}`,
      pairedRatio: sorted[Math.floor(sorted.length / 2)]!,
      pairedLow: sorted[0]!,
      pairedHigh: sorted[sorted.length - 1]!,
      ...(tail.length > 0 ? { pairedP99: tail[Math.floor(tail.length / 2)]! } : {}),
    };
  });
}
