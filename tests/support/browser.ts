/**
 * Headless Chromium (Debian's package) driven by playwright-core. On a developer machine without
 * it the browser tests are skipped with a hint; in CI (`CI=true`) a missing browser fails.
 *
 * @module
 */
import { type Browser, chromium } from "npm:playwright-core@1.65.1";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser tests run here. */
export const HAVE_CHROMIUM = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

if (!HAVE_CHROMIUM) {
  if (Deno.env.get("CI") === "true") {
    throw new Error(
      `Chromium is required in CI: ${CHROMIUM} is missing (apt-get install chromium)`,
    );
  }
  // deno-lint-ignore no-console -- tell the developer why tests were skipped
  console.warn(
    `Skipping browser tests: ${CHROMIUM} not found. Install it with: sudo apt-get install chromium`,
  );
}

/** Folder for screenshots. */
export const OUTPUT = new URL("../../test-output/", import.meta.url);

/** Launches headless Chromium with the flags this network-less machine needs. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox", // root in CI containers
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves a screenshot of `page` as `test-output/<name>.png` (the whole page unless `fullPage: false`). */
export async function screenshot(
  page: { screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown> },
  name: string,
  fullPage = true,
): Promise<void> {
  await Deno.mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, OUTPUT).pathname, fullPage });
}
