/**
 * `deno task start:parallel`: `deno serve --parallel` on `HOST:PORT` (defaults 0.0.0.0:8080, as
 * `deno task start`), one isolate per core. `deno serve` takes its address from flags only, so this
 * reads the environment, starts it, passes SIGINT/SIGTERM on, and exits with its status.
 *
 * @module
 */
import { DEFAULT_CONFIG } from "../lib/config.ts";

const env = Deno.env.toObject();
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    "--port",
    env.PORT || String(DEFAULT_CONFIG.port),
    "--host",
    env.HOST || DEFAULT_CONFIG.host,
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
