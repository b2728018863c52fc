/**
 * Runs `main.ts` as a real process, the way `deno task start` does, and reads its JSON logs.
 *
 * @module
 */
import { WAIT_MS } from "./client.ts";
import { within } from "./teardown.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A running server process. */
export class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Every log line so far (stdout and stderr), in arrival order. */
  readonly lines: string[] = [];
  /** Resolves with the exit status, once all output has been read. */
  readonly status: Promise<Deno.CommandStatus>;
  #onLine: (() => void) | undefined;
  readonly #pumps: Promise<void>[];

  /**
   * Starts `deno <args> main.ts` (by default `deno run` with the start task's permissions); with
   * `raw`, `deno <args>` exactly, with `env` and nothing else set, from `cwd`.
   */
  constructor(
    env: Record<string, string>,
    args = ["run"],
    options: { raw?: boolean; cwd?: string } = {},
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: options.raw
        ? args
        : [...args, "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN],
      env: options.raw
        ? { NO_COLOR: "1", ...env }
        : { PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1", KV_PATH: ":memory:", ...env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump(this.child.stdout), this.#pump(this.child.stderr)];
    this.status = Promise.all([this.child.status, ...this.#pumps]).then(([status]) => status);
  }

  /**
   * Waits for a raw output line matching `pattern` (e.g. Deno's own "Listening on" line under
   * `deno serve`, whose workers' lines Deno prefixes with `[serve-worker-N ]`).
   */
  async waitForLine(pattern: RegExp, ms = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`No line matching ${pattern} within ${ms} ms: ${this.lines.join("\n")}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#onLine = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The parsed records; throws if any line is not one JSON object. */
  // deno-lint-ignore no-explicit-any
  records(): any[] {
    return this.lines.map((line) => JSON.parse(line));
  }

  /** Waits for a record whose `msg` is `msg` and returns it. */
  // deno-lint-ignore no-explicit-any
  async waitFor(msg: string, ms = WAIT_MS): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.find((line) => line.includes(`"msg":${JSON.stringify(msg)}`));
      if (found) return JSON.parse(found);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No "${msg}" log within ${ms} ms: ${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#onLine = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits until the process logs that it listens, and returns the port. */
  async port(): Promise<number> {
    return (await this.waitFor("listening")).port;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
      this.#onLine?.();
    }
    if (rest) this.lines.push(rest);
    this.#onLine?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await within(`the server process ${this.child.pid}`, this.status);
  }
}
