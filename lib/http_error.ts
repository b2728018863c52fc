/**
 * The one error type the HTTP layer throws, and the one place that turns any error into a
 * response, so every error body has the same `{"error":{"code","message"}}` shape.
 *
 * @module
 */

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

/**
 * Turns `error` into a response. An {@linkcode HttpError} keeps its status, code and message;
 * anything else is a 500 whose message reveals nothing about the internals.
 */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) {
    return jsonResponse(
      { error: { code: error.code, message: error.message } },
      error.status,
      error.headers,
    );
  }
  return jsonResponse({ error: { code: "internal", message: "Internal server error" } }, 500);
}
