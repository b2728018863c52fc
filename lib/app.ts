/**
 * The composition root of the service: builds the metrics, the {@linkcode Hub}, escalation and
 * the HTTP handler from a configuration and a store, and gives `main.ts` (and tests) one object
 * to serve, start and close.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { systemClock } from "./core/mod.ts";
import { Escalation } from "./escalation/mod.ts";
import { type ConnInfo, createHandler } from "./http/mod.ts";
import { type Logger, Metrics, reportEscalationFault, SILENT_LOGGER } from "./observe/mod.ts";
import { Hub } from "./realtime/mod.ts";
import type { AlarmStore } from "./store/mod.ts";

export type { ConnInfo } from "./http/mod.ts";

/** Dependencies of {@linkcode createApp}. */
export interface AppOptions {
  /** Validated configuration (see `parseConfig`). */
  config: Config;
  /** Structured logger; silent by default. */
  logger?: Logger;
  /** Clock in epoch ms, injectable for tests. */
  now?: () => number;
  /** The durable store (Deno KV). */
  store: AlarmStore;
}

/** The service: a fetch handler plus the handles `main.ts` and tests need. */
export interface App {
  /** Handles one HTTP request (including WebSocket upgrades); `info` gives the client address. */
  fetch(req: Request, info?: ConnInfo): Promise<Response>;
  /** Sessions, fan-out and publishing. */
  readonly hub: Hub;
  /** Counters for `/metrics`. */
  readonly metrics: Metrics;
  /** Escalation policies and this instance's scheduler. */
  readonly escalation: Escalation;
  /** Closes sessions that stopped heartbeating; `start()` calls it periodically. */
  sweep(): number;
  /**
   * Starts the timers (heartbeat sweep, presence refresh) and learns whether other isolates
   * share the store; serve once it resolves.
   */
  start(): Promise<void>;
  /**
   * Refuses new sockets and closes every open one with 1012; resolves when their closing
   * handshakes are done or after `graceMs` (default 2000), and escalations in progress are done.
   */
  close(graceMs?: number): Promise<void>;
}

/** Builds the service from its dependencies. Has no side effects until requests arrive. */
export function createApp(options: AppOptions): App {
  const { config } = options;
  const logger = options.logger ?? SILENT_LOGGER;
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  const escalation: Escalation = new Escalation({
    store: options.store,
    publish: (target, prepared, key): Promise<unknown> => hub.publish(target, prepared, key),
    metrics,
    logger,
    clock: systemClock(now),
    webhooks: {
      allowedOrigins: config.webhookAllowedOrigins,
      secret: config.webhookSecret,
      timeoutMs: config.webhookTimeoutMs,
      maxAttempts: config.webhookMaxAttempts,
      backoffMs: config.webhookBackoffMs,
      maxBackoffMs: config.webhookMaxBackoffMs,
    },
    scanMs: config.escalationScanMs,
    storeTimeoutMs: config.storeTimeoutMs,
  });
  const hub: Hub = new Hub({
    store: options.store,
    metrics,
    logger,
    now,
    limits: { ...config, anonymousActions: config.apiKey === undefined },
    deadlines: escalation,
  });
  const http = createHandler({ config, hub, escalation, metrics, logger, now });
  let sweeper: ReturnType<typeof setInterval> | undefined;

  function sweep(): number {
    http.prune(now());
    return hub.sweep();
  }

  return {
    fetch: http.fetch,
    hub,
    metrics,
    escalation,
    sweep,
    async start() {
      sweeper ??= setInterval(sweep, Math.min(5000, config.heartbeatTimeoutMs / 4));
      await hub.start();
      // A store that can't be read yet leaves policies to the watch's retries.
      await escalation.start().catch((error) => reportEscalationFault(metrics, logger, error));
    },
    async close(graceMs = 2000) {
      http.close();
      clearInterval(sweeper);
      // Side by side: a webhook attempt in flight must not hold up the sockets' 1012.
      await Promise.all([escalation.stop(), hub.shutdown(graceMs)]);
    },
  };
}
