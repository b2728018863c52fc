/**
 * The domain, free of I/O: alarms (validation and stamping), ids, IP addresses, safe JSON, the wire protocol
 * and its close codes, connection tokens, heartbeat timing, rate limits, escalation policies, the backoff every
 * retry follows, and the errors the domain raises. Imports nothing else of ours, so every other folder may build on it.
 *
 * @module
 */
export * from "./alarm.ts";
export * from "./alarm_rates.ts";
export * from "./backoff.ts";
export * from "./clock.ts";
export * from "./close_codes.ts";
export * from "./condition.ts";
export * from "./due_loop.ts";
export * from "./errors.ts";
export * from "./follow.ts";
export * from "./hash.ts";
export * from "./heartbeat.ts";
export * from "./ids.ts";
export * from "./ip_address.ts";
export * from "./json.ts";
export * from "./policy.ts";
export * from "./protocol.ts";
export * from "./rate_limit.ts";
export * from "./sse.ts";
export * from "./token.ts";
export * from "./version.ts";
export * from "./visible.ts";
