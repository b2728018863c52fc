/**
 * Serving that never lives on without a listener. `Deno.serve` has no header-read timeout, so a
 * flood of connections that never finish their request can exhaust the process's file
 * descriptors, and its listener then fails for good. Here a failed listener is logged and opened
 * again (with backoff, as descriptors free up), so the process accepts again once the attack
 * stops; a listener that stops for any other reason outside a shutdown ends the process.
 *
 * @module
 */
import { type Backoff, pauseAfter } from "../core/mod.ts";
import { errorMessage, type Logger } from "../observe/mod.ts";

/** What {@linkcode listen} needs. */
export interface ListenOptions {
  host: string;
  port: number;
  logger: Logger;
  handler: Deno.ServeHandler;
  /** Share the port with other processes (`SO_REUSEPORT`). */
  reusePort?: boolean;
  /** Called when the process must not go on (the listener stopped for no known reason). */
  onFatal: (msg: string) => void;
}

/** A listener that reopens itself. */
export interface Listener {
  /** Stops accepting, for good, and waits for the open connections to finish. */
  shutdown(): Promise<void>;
}

/** Pauses between attempts to listen again: from 0.2 s, doubling to 5 s. */
const REOPEN_BACKOFF: Backoff = { firstMs: 200, maxMs: 5000 };

/** Listens on `host:port`; throws if the first listen fails (e.g. the port is taken). */
/**
 * Whether `error` from listening names a setting to fix rather than a passing fault: `HOST` not an
 * address of this machine, or no name that resolves, or a port this user may not bind (a port in
 * use may be freed, and is worth a restart).
 */
export function isListenSettingError(error: unknown): boolean {
  return error instanceof Deno.errors.AddrNotAvailable ||
    error instanceof Deno.errors.PermissionDenied ||
    (error instanceof Error && /failed to lookup address/i.test(error.message));
}

export function listen(options: ListenOptions): Listener {
  const { logger } = options;
  let stopping = false;
  let port = options.port;
  let server = open(true);

  function open(first: boolean): Deno.HttpServer {
    const opened = Deno.serve({
      hostname: options.host,
      port,
      // Unstable in Deno (`"net"` in deno.json): asked for only when wanted.
      ...(options.reusePort ? { reusePort: true } : {}),
      onListen: ({ hostname, port: bound }) => {
        port = bound; // a port 0 asked for any port: reopen on the one we got
        logger.log("info", first ? "listening" : "listening again", { host: hostname, port });
      },
    }, options.handler);
    opened.finished.then(
      () => stopping || options.onFatal("the listener stopped"),
      (error) => {
        if (stopping) return;
        logger.log("error", "the listener failed", { error: errorMessage(error) });
        reopen(1);
      },
    );
    return opened;
  }

  // The `failures`-th attempt to listen again, after its pause.
  function reopen(failures: number): void {
    setTimeout(() => {
      if (stopping) return;
      try {
        server = open(false);
      } catch (error) {
        logger.log("warn", "cannot listen yet", { error: errorMessage(error) });
        reopen(failures + 1);
      }
    }, pauseAfter(REOPEN_BACKOFF, failures));
  }

  return {
    async shutdown() {
      stopping = true;
      await server.shutdown();
    },
  };
}
