/**
 * The production setup exactly as docs/security.md prints it: the settings block and the `deno
 * run` command, made runnable on a test machine (real secrets, a free port, the store in a
 * temporary folder instead of /var/lib/alarmcast).
 *
 * @module
 */
import { assert } from "@std/assert";

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
