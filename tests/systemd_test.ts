import { assert, assertEquals, assertLess, assertMatch } from "@std/assert";
import { freePort } from "./support/ports.ts";
import {
  only,
  printedProduction,
  runnableSettings,
  startUnit,
  UNIT,
  unitSettings,
} from "./support/production.ts";

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
  const settings = await unitSettings();
  const state = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  const port = freePort();
  await using proc = startUnit(settings, file(state, port), state, cache);
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

Deno.test("the systemd unit doesn't restart a server whose settings are wrong: it exits with the code the unit names", async () => {
  const settings = await unitSettings();
  const state = await Deno.makeTempDir();
  const cache = await Deno.makeTempDir();
  await using proc = startUnit(settings, "PORT=eighty\n", state, cache);
  const { code } = await proc.status;
  assertEquals(String(code), only(settings, "RestartPreventExitStatus"));
  assertMatch(proc.records()[0]?.msg ?? "", /PORT must be an integer/);
  await Deno.remove(state, { recursive: true });
  await Deno.remove(cache, { recursive: true });
});
