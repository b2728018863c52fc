/**
 * The programs some tests drive (nginx, Chromium, denokv, a JDK, sqlite3): found where they are
 * installed, or the tests that need them are skipped with how to install them. In CI
 * (`CI=true`) a missing one fails instead: CI installs them all.
 *
 * @module
 */

/**
 * The first of `candidates` that is a file (a bare name is looked for on the PATH); else
 * `undefined`, after {@linkcode missingTool}.
 */
export function requiredTool(
  name: string,
  candidates: readonly string[],
  hint: string,
  skipped: string,
): string | undefined {
  const path = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  for (const candidate of candidates) {
    const places = candidate.includes("/") ? [candidate] : path.map((dir) => `${dir}/${candidate}`);
    for (const place of places) {
      try {
        if (Deno.statSync(place).isFile) return place;
      } catch {
        // Not here.
      }
    }
  }
  return missingTool(name, hint, skipped);
}

/** Says that `name` is missing and how to install it (`hint`): fails in CI, else `undefined`. */
export function missingTool(name: string, hint: string, skipped: string): undefined {
  if (Deno.env.get("CI") === "true") throw new Error(`${name} is required in CI: ${hint}`);
  // deno-lint-ignore no-console -- tell the developer why tests were skipped
  console.warn(`Skipping ${skipped}: ${name} not found. Install it with: ${hint}`);
  return undefined;
}
