/**
 * Seeing what the service does: structured JSON logs, the counters and gauges of `/metrics`, and
 * the one way faults are counted and logged. Imports nothing else of ours.
 *
 * @module
 */
export * from "./faults.ts";
export * from "./log.ts";
export * from "./metrics.ts";
