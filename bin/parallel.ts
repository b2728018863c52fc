/**
 * `deno task start:parallel`: `deno serve --parallel` on `HOST:PORT` (defaults 0.0.0.0:8080, as
 * `deno task start`), one isolate per core. `deno serve` takes its address from flags only, so this
 * reads the environment, starts it, passes SIGINT/SIGTERM on, and exits with its status.
 *
 * @module
 */
import { configOrExit } from "../lib/config.ts";

// Checked here, as main.ts would: a bad PORT gets the same message and 78, not Deno's error.
const config = configOrExit(Deno.env.toObject());
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    "--port",
    String(config.port),
    "--host",
    config.host,
    "--allow-net",
    "--allow-env",
    "--allow-read=data,lib",
    "--allow-write=data",
    new URL("../main.ts", import.meta.url).pathname,
  ],
  env: { SERVE_MODE: "export" },
  stdin: "null",
}).spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => child.kill(signal));
}
Deno.exit((await child.status).code);
