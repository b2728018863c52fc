/**
 * A real self-hosted Deno KV server (`denokv`, the engine Deno publishes, built from crates.io)
 * on a loopback port, which tests can kill and start again on the same database file.
 *
 * @module
 */
import { listening } from "./ports.ts";
import { within } from "./teardown.ts";
import { missingTool } from "./tools.ts";

/** Where the `denokv` binary is: `DENOKV` if set, else on PATH or in ~/.cargo/bin. */
export function findDenokv(): string | undefined {
  const env = Deno.env.get("DENOKV");
  const candidates = [
    ...(env ? [env] : []),
    ...(Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/denokv`),
    `${Deno.env.get("HOME")}/.cargo/bin/denokv`,
  ];
  return candidates.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** A running (or stopped) denokv on one SQLite file. */
export class DenoKv implements AsyncDisposable {
  readonly url: string;
  readonly token = crypto.randomUUID();
  readonly #bin: string;
  readonly #dir: string;
  readonly #port: number;
  #child: Deno.ChildProcess | undefined;

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.#dir = dir;
    this.#port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts denokv on a free port with a fresh database. */
  static async start(bin: string, port: number): Promise<DenoKv> {
    const kv = new DenoKv(bin, await Deno.makeTempDir(), port);
    await kv.resume();
    return kv;
  }

  /** Starts the server (again) and waits until it answers. */
  async resume(): Promise<void> {
    this.#child = new Deno.Command(this.#bin, {
      args: [
        "--sqlite-path",
        `${this.#dir}/kv.sqlite3`,
        "serve",
        "--addr",
        `127.0.0.1:${this.#port}`,
        "--access-token",
        this.token,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await listening(this.#port);
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as in a hang. */
  freeze(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void {
    this.#child?.kill("SIGCONT");
  }

  /** Kills the server at once (SIGKILL), as a crash or an outage would. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    child.kill("SIGKILL");
    await child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await within(`denokv at ${this.url}`, this.kill());
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** The denokv binary, or `undefined` (with a hint on stderr) where it isn't installed. */
export const DENOKV = (() => {
  const bin = findDenokv();
  if (bin) return bin;
  const version = Deno.readTextFileSync(new URL("../../.ci/denokv.version", import.meta.url))
    .trim();
  return missingTool(
    "denokv",
    `cargo install denokv --locked --version ${version}`,
    "denokv tests",
  );
})();
