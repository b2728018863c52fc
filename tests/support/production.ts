/**
 * The production setup exactly as the repository ships it: the settings block and the `deno run`
 * command docs/security.md prints, and the systemd unit's `ExecStart`, made runnable on a test
 * machine (real secrets, a free port, the store in a temporary folder instead of
 * /var/lib/alarmcast).
 *
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { ServerProcess } from "./process.ts";

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** The documented settings block and production command. */
export interface PrintedProduction {
  /** `NAME=value` lines, as in the environment file the docs show. */
  settings: string;
  /** The `deno run …` command, as printed (continuation lines joined). */
  command: string;
}

/** Reads the settings and the production command from docs/security.md. */
export async function printedProduction(): Promise<PrintedProduction> {
  const doc = await Deno.readTextFile(`${ROOT}docs/security.md`);
  const command = /```sh\n(deno run --env-file=[^`]*?main\.ts)\n```/.exec(doc)?.[1];
  assert(command, "no deno run command in docs/security.md");
  const settings = /```sh\n(ALARM_API_KEY=[^`]*?)```/.exec(doc)?.[1];
  assert(settings, "no settings block in docs/security.md");
  return { settings, command: command.replace(/\\\n\s*/g, "") };
}

/** The printed settings as an environment file body, runnable here: store in `dir`, on `port`. */
export function runnableSettings(settings: string, dir: string, port: number): string {
  return settings.replace(/<32\+ random characters>/g, "s".repeat(32))
    .replaceAll("/var/lib/alarmcast", dir) + `PORT=${port}\n`;
}

/** The shipped systemd unit. */
export const UNIT = `${ROOT}deploy/systemd/alarmcast.service`;

/** The `[Service]` settings of the shipped unit, a list per key (systemd allows repeats). */
export async function unitSettings(): Promise<Map<string, string[]>> {
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

/** The one value of `key` in the unit's settings. */
export function only(settings: Map<string, string[]>, key: string): string {
  const values = settings.get(key) ?? [];
  assertEquals(values.length, 1, `${key} appears ${values.length} times`);
  return values[0]!;
}

/**
 * Starts the unit's `ExecStart` as systemd would: from `WorkingDirectory` (the checkout), with
 * the unit's `Environment=` and then the environment file `file` over it, StateDirectory
 * (/var/lib/alarmcast) in `state` and CacheDirectory (DENO_DIR) in `cache`.
 */
export function startUnit(
  settings: Map<string, string[]>,
  file: string,
  state: string,
  cache: string,
): ServerProcess {
  const [deno, ...args] = only(settings, "ExecStart").split(/\s+/);
  assertEquals(deno, "/usr/local/bin/deno");
  assertEquals(only(settings, "WorkingDirectory"), "/opt/alarmcast");
  assertEquals(only(settings, "EnvironmentFile"), "/etc/alarmcast.env");
  const env: Record<string, string> = {};
  const lines = [...only(settings, "Environment").split(/\s+/), ...file.split("\n")];
  for (const line of lines.map((l) => l.replaceAll("/var/lib/alarmcast", state))) {
    const [name, ...value] = line.split("=");
    if (name) env[name] = value.join("=");
  }
  env.DENO_DIR = cache;
  const argv = args.map((arg) => arg.replaceAll("/var/lib/alarmcast", state));
  return new ServerProcess(env, argv, { cwd: ROOT, raw: true });
}
