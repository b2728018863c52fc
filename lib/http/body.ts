/**
 * Reads a JSON object from a request body with a hard size limit, without ever buffering more
 * than the limit: a declared `Content-Length` over it is refused unread, and a chunked body is
 * cancelled as soon as it passes it.
 *
 * @module
 */
import {
  INEXACT_NUMBER,
  isJsonObject,
  type JsonObject,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  parseJson,
  quote,
} from "../core/mod.ts";
import { HttpError } from "./errors.ts";

/** Reads and validates the body of `req` as one JSON object of at most `maxBytes` bytes. */
export async function readJsonObject(req: Request, maxBytes: number): Promise<JsonObject> {
  checkContentType(req.headers.get("content-type"));
  checkContentEncoding(req.headers.get("content-encoding"));
  // A length next to chunked framing says nothing (Deno before 2.9 passes such requests on).
  const declared = req.headers.has("transfer-encoding") ? null : req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  // With a declared length the HTTP layer delivers exactly that many bytes (checked above), so
  // the body can be taken in one piece; a chunked body is counted as it streams.
  let bytes: Uint8Array;
  try {
    bytes = declared !== null
      ? new Uint8Array(await req.arrayBuffer())
      : await readLimited(req.body, maxBytes);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away mid-body: nobody to answer, and nothing went wrong here.
    throw new HttpError(400, "incomplete_body", "Body ended before it was complete");
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes); // a Request built in-process may lie
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, "invalid_json", "Body is not valid UTF-8");
  }
  const parsed = parseJson(text);
  if (!parsed.ok) throw JSON_ERRORS[parsed.reason];
  if (!isJsonObject(parsed.value)) {
    throw new HttpError(400, "not_an_object", "Body must be a JSON object");
  }
  return parsed.value;
}

/**
 * Reads and drops what is left of an unread body (at most `maxBytes`, for at most `ms`) before
 * an error answer. A connection closed with unread bytes is reset, so a client still writing its
 * body (the JDK's HttpClient writes it after the head) would get "Broken pipe" instead of the
 * answer. A body over the limit, or slower than `ms`, is cut as before.
 */
export async function drainBody(req: Request, maxBytes: number, ms: number): Promise<void> {
  if (!req.body || req.bodyUsed) return;
  const declared = req.headers.has("transfer-encoding") ? null : req.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return;
  const reader = req.body.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), ms);
  try {
    for (let read = 0; read <= maxBytes;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // Cut by the timer, or the client went away: nothing more to drop.
  } finally {
    clearTimeout(timer);
  }
}

// Stateless between calls (no streaming), so one decoder serves every request.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

const JSON_ERRORS = {
  invalid_json: new HttpError(400, "invalid_json", "Body is not valid JSON"),
  too_deep: new HttpError(400, "json_too_deep", `Body nests deeper than ${MAX_JSON_DEPTH} levels`),
  too_many_keys: new HttpError(
    400,
    "json_too_many_keys",
    `Body has more than ${MAX_JSON_KEYS} keys`,
  ),
  inexact_number: new HttpError(400, "json_inexact_number", INEXACT_NUMBER("Body")),
};

function checkContentType(header: string | null): void {
  const [type = "", ...params] = (header ?? "").split(";");
  const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith("charset="))
    ?.slice("charset=".length).replace(/^"(.*)"$/, "$1"); // a quoted value is the same value
  if (
    type.trim().toLowerCase() !== "application/json" ||
    (charset !== undefined && charset !== "utf-8")
  ) {
    throw new HttpError(415, "unsupported_media_type", 'Content-Type must be "application/json"');
  }
}

// A compressed body would be read as JSON text and refused as such (or worse, taken for it):
// RFC 9110's answer to a coding not supported is 415, naming it.
function checkContentEncoding(header: string | null): void {
  if (header === null) return;
  const codings = header.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
  const other = codings.find((c) => c !== "identity");
  if (other !== undefined) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `Content-Encoding ${quote(other)} is not supported: send the body uncompressed`,
    );
  }
}

async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "body_too_large", `Body exceeds ${maxBytes} bytes`);
}
