/**
 * Types the benchmark runner shares with its scenario modules (`paired.ts`, `soak.ts`), kept
 * apart so those modules don't import the runner.
 *
 * @module
 */

/** A server to measure: which one, its label in the table, extra environment. */
export type Variant = [
  name: string,
  label: string,
  env: () => Record<string, string>,
];

/** A started server. */
export interface Server {
  name: string;
  pid: number;
  port: number;
  child: Deno.ChildProcess;
}

/** What one load job measured. */
export interface Generated {
  result: Record<string, number>;
  serverCpu: number;
  /** CPU seconds of the `second` server over the same window. */
  secondCpu: number;
  wall: number;
}
