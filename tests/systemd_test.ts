import { assert, assertEquals, assertLess } from "@std/assert";
import { ServerProcess } from "./support/process.ts";
import { freePort } from "./support/ports.ts";
import { printedProduction, ROOT, runnableSettings } from "./support/production.ts";

const UNIT = `${ROOT}deploy/systemd/alarmcast.service`;

/** The `[Service]` settings of the shipped unit, a list per key (systemd allows repeats). */
async function serviceSettings(): Promise<Map<string, string[]>> {
  const text = await Deno.readTextFile(UNIT);
  const service = text.split(/^\[/m).find((section) => section.startsWith("Service]"));
  assert(service, "no [Service] section");
  const settings = new Map<string, string[]>();
  for (const line of service.split("\n").slice(1)) {
    const match = /^(\w+)=(.*)$/.exec(line);
    if (match) settings.set(match[1]!, [...settings.get(match[1]!) ?? [], match[2]!]);
  }
  return settings;
}

function only(settings: Map<string, string[]>, key: string): string {
  const values = settings.get(key) ?? [];
  assertEquals(values.length, 1, `${key} appears ${values.length} times`);
  return values[0]!;
}

const analyze = await Deno.stat("/usr/bin/systemd-analyze").then(() => true, () => false);
if (!analyze) {
  // deno-lint-ignore no-console -- tell the developer why a test was skipped
  console.log("systemd-analyze not found: the unit is not verified (apt-get install systemd)");
}

Deno.test({
  name: "the systemd unit passes systemd-analyze verify",
  ignore: !analyze,
  fn: async () => {
    // The unit names /usr/local/bin/deno; verify checks it is executable, so point it at this Deno.
    const dir = await Deno.makeTempDir();
    const unit = (await Deno.readTextFile(UNIT)).replace("/usr/local/bin/deno", Deno.execPath());
    await Deno.writeTextFile(`${dir}/alarmcast.service`, unit);
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", `${dir}/alarmcast.service`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assertEquals([out.code, said], [0, ""]);
    await Deno.remove(dir, { recursive: true });
  },
});

/**
 * Runs the unit's `ExecStart` as systemd would, with `file` as the environment file (the
 * unit's `Environment=` first, the file's settings over them), StateDirectory and
 * CacheDirectory in temporary folders; checks it serves, then stops it with SIGTERM in time.
 */
async function runUnit(file: (state: string, port: number) => string): Promise<void> {
  const settings = await serviceSettings();
  const [deno, ...args] = only(settings, "ExecStart").split(/\s+/);
  assertEquals(deno, "/usr/local/bin/deno");
  assertEquals(only(settings, "WorkingDirectory"), "/opt/alarmcast");
  assertEquals(only(settings, "EnvironmentFile"), "/etc/alarmcast.env");
  const state = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  const port = freePort();
  const env: Record<string, string> = {};
  const lines = [...only(settings, "Environment").split(/\s+/), ...file(state, port).split("\n")];
  for (const line of lines.map((l) => l.replaceAll("/var/lib/alarmcast", state))) {
    const [name, ...value] = line.split("=");
    if (name) env[name] = value.join("=");
  }
  env.DENO_DIR = cache;
  const argv = args.map((arg) => arg.replaceAll("/var/lib/alarmcast", state));
  await using proc = new ServerProcess(env, argv, { cwd: ROOT, raw: true });
  await proc.waitFor("listening", 15_000);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assertEquals(health.status, 200);
  await health.body?.cancel();
  const stopBy = Number(only(settings, "TimeoutStopSec").replace(/s$/, "")) * 1000;
  const started = Date.now();
  proc.child.kill("SIGTERM");
  assertEquals((await proc.status).code, 0);
  assertLess(Date.now() - started, stopBy);
  assertEquals((await proc.waitFor("shutting down")).signal, "SIGTERM");
  // The store is where the unit lets it be written: in StateDirectory.
  assert((await Deno.stat(`${state}/kv.sqlite3`)).isFile);
  await Deno.remove(state, { recursive: true });
  await Deno.remove(cache, { recursive: true });
}

Deno.test("the systemd unit's command serves with the documented settings and stops on SIGTERM in time", async () => {
  const { settings } = await printedProduction();
  await runUnit((state, port) => runnableSettings(settings, state, port));
});

Deno.test("the systemd unit serves with an environment file holding only the two secrets", async () => {
  await runUnit((_, port) =>
    `ALARM_API_KEY=${"k".repeat(32)}\nWS_TOKEN_SECRET=${"s".repeat(32)}\nPORT=${port}\n`
  );
});
