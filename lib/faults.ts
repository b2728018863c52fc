/**
 * How failures are counted and logged, in one place, so every path reports them alike.
 *
 * @module
 */
import { errorResponse, HttpError } from "./http_error.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Session } from "./session.ts";
import { StoreError } from "./store.ts";

const STORE_UNAVAILABLE = new HttpError(
  503,
  "store_unavailable",
  "The alarm store is unavailable",
  {
    "retry-after": "1",
  },
);

/**
 * The answer to a request that threw `error`, counted: a store failure is a 503 with
 * `Retry-After`, an {@linkcode HttpError} keeps its status and code, anything else is a logged 500.
 */
export function answerFailure(metrics: Metrics, logger: Logger, error: unknown): Response {
  if (error instanceof StoreError) {
    reportStoreFault(metrics, logger, error); // counted as store_unavailable
    return errorResponse(STORE_UNAVAILABLE);
  }
  if (error instanceof HttpError) metrics.error(error.code);
  else {
    metrics.error("internal");
    logger.log("error", "request failed", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
  return errorResponse(error);
}

/** Counts and logs a failure of the KV store (affecting `id`, if known). */
export function reportStoreFault(
  metrics: Metrics,
  logger: Logger,
  error: unknown,
  id?: string,
): void {
  metrics.error("store_unavailable");
  logger.log("error", "store failure", {
    ...(id === undefined ? {} : { id }),
    error: error instanceof Error ? error.message : String(error),
  });
}

/** Counts and logs a fault of one socket; `kind` is a stable metric label. */
export function reportSocketFault(
  metrics: Metrics,
  logger: Logger,
  session: Session,
  kind: string,
  error: unknown,
): void {
  metrics.error(kind);
  logger.log(kind === "socket_handler" ? "error" : "warn", "socket fault", {
    id: session.id,
    sessionId: session.sessionId,
    kind,
    ...(error instanceof Error ? { error: error.message } : {}),
  });
}
