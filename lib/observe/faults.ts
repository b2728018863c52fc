/**
 * How failures outside a request are counted and logged, in one place, so every path reports
 * them alike.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** Counts and logs a failure of the store (affecting `id`, if known). */
export function reportStoreFault(
  metrics: Metrics,
  logger: Logger,
  error: unknown,
  id?: string,
): void {
  metrics.error("store_unavailable");
  logger.log("error", "store failure", {
    ...(id === undefined ? {} : { id }),
    error: errorMessage(error),
  });
}

/** Counts and logs a failure of escalation (loading policies, a scan, a step). */
export function reportEscalationFault(metrics: Metrics, logger: Logger, error: unknown): void {
  metrics.error("escalation");
  logger.log("error", "escalation failure", { error: errorMessage(error) });
}

/** Counts and logs a fault of one socket; `kind` is a stable metric label. */
export function reportSocketFault(
  metrics: Metrics,
  logger: Logger,
  socket: { readonly id: string; readonly sessionId: string },
  kind: string,
  error: unknown,
): void {
  metrics.error(kind);
  logger.log(kind === "socket_handler" ? "error" : "warn", "socket fault", {
    id: socket.id,
    sessionId: socket.sessionId,
    kind,
    ...(error instanceof Error ? { error: error.message } : {}),
  });
}

/** The message of `error`, whatever was thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
