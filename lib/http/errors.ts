/**
 * The HTTP error type and the one error boundary: every failure of every route becomes a
 * response here, with the same `{"error":{"code","message"}}` body, and is counted and logged
 * here. Domain errors map to statuses: `InvalidInput` to 400 (`TooLarge` to 413, `Conflict` to
 * 409, `NotFound` to 404), `StoreError`
 * to 503.
 *
 * @module
 */
import { Conflict, InvalidInput, NotFound, StoreError, TooLarge } from "../core/mod.ts";
import { errorMessage, type Logger, type Metrics, reportStoreFault } from "../observe/mod.ts";

/** An error that maps to an HTTP status and a stable, machine-readable code. */
export class HttpError extends Error {
  override name = "HttpError";
  /** The HTTP status to answer with. */
  readonly status: number;
  /** A stable snake_case code clients can branch on. */
  readonly code: string;
  /** Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Serializes `body` as a JSON response with `status`. */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

const STORE_UNAVAILABLE = new HttpError(
  503,
  "store_unavailable",
  "The alarm store is unavailable",
  { "retry-after": "1" },
);

const INTERNAL = new HttpError(500, "internal", "Internal server error");

/**
 * The answer to a request that threw `error`, counted in `metrics`: an {@linkcode HttpError}
 * keeps its status and code, `InvalidInput` is a 400, a store failure a 503 with `Retry-After`,
 * and anything else a logged 500 whose message reveals nothing about the internals.
 */
export function answerFailure(metrics: Metrics, logger: Logger, error: unknown): Response {
  const answer = toHttpError(error);
  if (error instanceof StoreError) reportStoreFault(metrics, logger, error);
  else metrics.error(answer.code);
  if (answer === INTERNAL) logger.log("error", "request failed", { error: errorMessage(error) });
  return jsonResponse(
    { error: { code: answer.code, message: answer.message } },
    answer.status,
    answer.headers,
  );
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof TooLarge) return new HttpError(413, error.code, error.message);
  if (error instanceof Conflict) return new HttpError(409, error.code, error.message);
  if (error instanceof NotFound) return new HttpError(404, error.code, error.message);
  if (error instanceof InvalidInput) return new HttpError(400, error.code, error.message);
  if (error instanceof StoreError) return STORE_UNAVAILABLE;
  return INTERNAL;
}
