/**
 * Entry point: reads the configuration, opens the store, builds the app and serves it; shuts
 * down cleanly on SIGINT/SIGTERM (sockets closed with 1012 so clients reconnect; exit within
 * 5 s, as Deno Deploy kills 5 s after SIGINT).
 *
 * Works under `deno run` (and Deno Deploy), where it calls `Deno.serve` itself, and under
 * `deno serve` with `SERVE_MODE=export`, where it only default-exports `{ fetch }`. Deno gives a
 * module no way to tell the two apart (denoland/deno#25179), so the mode is stated explicitly.
 *
 * @module
 */
import { createApp } from "./lib/app.ts";
import { configOrExit, misspeltSettings } from "./lib/config.ts";
import { isListenSettingError, listen, type Listener } from "./lib/http/mod.ts";
import { createLogger } from "./lib/observe/mod.ts";
import {
  type AlarmStore,
  buildStore,
  describeStore,
  isAccessRefused,
  redactUrls,
  storePathProblem,
} from "./lib/store/mod.ts";

/** Longest a shutdown may take before the process exits anyway (Deno Deploy kills at 5 s). */
const SHUTDOWN_DEADLINE_MS = 4000;
/** Longest to wait for clients to answer the 1012 close before the listener is stopped. */
const CLOSE_GRACE_MS = 2000;

const env = Deno.env.toObject();
const config = configOrExit(env);
const logger = createLogger({ level: config.logLevel });
for (const line of misspeltSettings(env)) logger.log("warn", line);
// Locally, with no secrets, the server runs open: say so.
if (config.apiKey === undefined) {
  logger.log("warn", "ALARM_API_KEY is not set: anyone who can reach /api/ can publish");
}
if (config.tokenSecrets.length === 0) {
  logger.log("warn", "WS_TOKEN_SECRET is not set: anyone who knows an id can listen to its alarms");
}
const unusable = storePathProblem(config.kvPath);
if (unusable !== undefined) {
  logger.log("error", unusable);
  Deno.exit(78); // EX_CONFIG
}
let store: AlarmStore;
try {
  store = await buildStore({
    path: config.kvPath,
    retention: {
      count: config.retentionCount,
      ageMs: config.retentionMs,
      conditions: config.maxConditions,
    },
    timeoutMs: config.storeTimeoutMs,
    onLocked: () => {
      logger.log("warn", "the store is locked by another process: waiting", {
        ...describeStore(config.kvPath),
      });
    },
  });
} catch (error) {
  logger.log("error", "cannot open the store", {
    ...describeStore(config.kvPath),
    error: redactUrls(error instanceof Error ? error.message : String(error)),
  });
  Deno.exit(isAccessRefused(error) ? 78 : 1); // credentials refused: a setting (EX_CONFIG)
}
logger.log("info", "store opened", describeStore(config.kvPath));
const app = createApp({ config, logger, store });
await app.start();

const server = config.serveMode === "listen" ? await startListening() : undefined;

async function startListening(): Promise<Listener> {
  try {
    return listen({
      host: config.host,
      port: config.port,
      reusePort: config.reusePort,
      logger,
      handler: app.fetch,
      onFatal: (msg) => {
        logger.log("error", msg);
        Deno.exit(1);
      },
    });
  } catch (error) {
    // e.g. the port is taken: one log line and a clear exit, not a stack trace; 78 for a HOST
    // that is no address of this machine (systemd then stops restarting it).
    logger.log("error", "cannot listen", {
      host: config.host,
      port: config.port,
      error: `${error}`,
    });
    // Started already: its presence goes, or the others would count it for 30 s.
    await app.close(0).catch(() => {});
    Deno.exit(isListenSettingError(error) ? 78 : 1);
  }
}

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
  const started = performance.now();
  const stopped = (forced: boolean) => {
    logger.log("info", "stopped", { forced, ms: Math.round(performance.now() - started) });
    Deno.exit(0);
  };
  setTimeout(() => stopped(true), SHUTDOWN_DEADLINE_MS);
  await app.close(CLOSE_GRACE_MS);
  if (server) await server.shutdown();
  // Under `deno serve --parallel` every isolate closes its own sockets and the first to exit
  // ends the process: give each the whole grace period first.
  else await new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
  store.close();
  // Exit explicitly: anything else still holding the event loop must not keep us alive.
  stopped(false);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}

/** For `deno serve`: the handler, only in `export` mode (so `deno run` doesn't warn about it). */
export default (config.serveMode === "export" ? { fetch: app.fetch } : {});
