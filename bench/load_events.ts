/**
 * What the load generator (`load.mjs`) prints: one JSON object per line, an `event` name with the
 * figures it reports. Read here once, for every scenario that runs it.
 *
 * @module
 */

/** One line of the generator's output. */
export interface LoadEvent {
  event: string;
  /** The figures it reports (counts, latencies, times). */
  fields: Record<string, number>;
  /** A socket error's text. */
  message?: string;
}

/** The events of a generator's `stdout`, in order, until it ends. */
export async function* loadEvents(stdout: ReadableStream<Uint8Array>): AsyncGenerator<LoadEvent> {
  let buffer = "";
  for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      // Our own generator's output, not untrusted input.
      const { event, message, ...fields } = JSON.parse(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      yield { event, fields, ...(message === undefined ? {} : { message: String(message) }) };
    }
  }
}
