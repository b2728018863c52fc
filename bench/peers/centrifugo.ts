/**
 * Centrifugo, the server users would otherwise pick, as a bench peer: the pinned release built
 * once from the Go module proxy into `~/.cache/alarmcast/`, run in insecure client mode (anyone
 * may subscribe to any channel, as alarmcast's sockets need no token either) with its HTTP API,
 * on one core (`GOMAXPROCS=1`), memory engine. The load generator speaks its protocol
 * (`load.mjs`, the `centrifugo` dialect): a channel per id.
 *
 * @module
 */

/** The release measured. */
export const CENTRIFUGO_VERSION = "v6.9.1";

/** The API key the load generator publishes with. */
export const CENTRIFUGO_API_KEY = "bench";

const HOME = Deno.env.get("HOME") ?? "/tmp";
const DIR = `${HOME}/.cache/alarmcast/centrifugo-${CENTRIFUGO_VERSION}`;

/** The environment Centrifugo runs with (its port is set by the runner). */
export const CENTRIFUGO_ENV: Readonly<Record<string, string>> = {
  CENTRIFUGO_HTTP_SERVER_ADDRESS: "127.0.0.1",
  CENTRIFUGO_CLIENT_INSECURE: "true",
  CENTRIFUGO_HTTP_API_KEY: CENTRIFUGO_API_KEY,
  CENTRIFUGO_LOG_LEVEL: "error",
  GOMAXPROCS: "1",
};

/**
 * The path of the Centrifugo binary, built first if missing (about 3 minutes); `undefined` with
 * a reason printed when Go is not there or the build fails, and the bench goes on without it.
 */
export async function ensureCentrifugo(): Promise<string | undefined> {
  const binary = `${DIR}/centrifugo`;
  try {
    Deno.statSync(binary);
    return binary;
  } catch { /* not built yet */ }
  const go = ["go", "/usr/local/go/bin/go"].find((cmd) => {
    try {
      return new Deno.Command(cmd, { args: ["version"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });
  if (!go) {
    // deno-lint-ignore no-console -- say why a peer is missing
    console.log("Centrifugo left out: no Go toolchain (go, /usr/local/go/bin/go)");
    return undefined;
  }
  // deno-lint-ignore no-console -- say why the first run waits
  console.log(`Building Centrifugo ${CENTRIFUGO_VERSION} once from the Go module proxy (~3 min)`);
  const built = await new Deno.Command(go, {
    args: ["install", `github.com/centrifugal/centrifugo/v6@${CENTRIFUGO_VERSION}`],
    env: { GOBIN: DIR, GOFLAGS: "-buildvcs=false" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!built.success) {
    // deno-lint-ignore no-console -- say why a peer is missing
    console.log("Centrifugo left out: go install failed");
    return undefined;
  }
  return binary;
}
