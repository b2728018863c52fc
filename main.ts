/**
 * Entry point: reads the configuration, builds the app, serves it, and shuts down cleanly on
 * SIGINT/SIGTERM (sockets closed with 1012 so clients reconnect; exit within 5 s, as Deno
 * Deploy kills 5 s after SIGINT).
 *
 * @module
 */
import { createApp } from "./lib/app.ts";
import { ConfigError, parseConfig } from "./lib/config.ts";
import { createLogger } from "./lib/log.ts";

/** Longest a shutdown may take before the process exits anyway (Deno Deploy kills at 5 s). */
const SHUTDOWN_DEADLINE_MS = 4000;
/** Longest to wait for clients to answer the 1012 close before the listener is stopped. */
const CLOSE_GRACE_MS = 2000;

function main(): void {
  let config;
  try {
    config = parseConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger().log("error", error.message);
    Deno.exit(78); // EX_CONFIG
  }
  const logger = createLogger({ level: config.logLevel });
  if (config.apiKey === undefined) {
    logger.log("warn", "ALARM_API_KEY is not set: anyone who can reach /api/ can publish");
  }
  const app = createApp({ config, logger });
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) => logger.log("info", "listening", { host: hostname, port }),
  }, app.fetch);
  const sweeper = setInterval(app.sweep, Math.min(5000, config.heartbeatTimeoutMs / 4));

  // Last line of defence: a stray rejection is logged, never fatal.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    logger.log("error", "unhandled rejection", { error: String(event.reason) });
  });

  let stopping = false;
  async function shutdown(signal: Deno.Signal): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.log("info", "shutting down", { signal });
    setTimeout(() => Deno.exit(0), SHUTDOWN_DEADLINE_MS);
    clearInterval(sweeper);
    await app.close(CLOSE_GRACE_MS);
    await server.shutdown();
    // Exit explicitly: anything else still holding the event loop must not keep us alive.
    Deno.exit(0);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void shutdown(signal));
  }
}

if (import.meta.main) main();
