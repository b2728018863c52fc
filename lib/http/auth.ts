/**
 * Bearer-key authorization for the publishing API.
 *
 * @module
 */
import { HttpError } from "./errors.ts";

/** Checks `Authorization: Bearer <key>` against one configured key. */
export class ApiKeyAuth {
  readonly #expected: Promise<Uint8Array>;

  constructor(key: string) {
    this.#expected = digest(key);
  }

  /** Throws a 401 {@linkcode HttpError} unless `headers` carry the key. */
  async check(headers: Headers): Promise<void> {
    const presented = bearerOf(headers);
    if (!presented || !equal(await digest(presented), await this.#expected)) {
      throw new HttpError(401, "unauthorized", "A valid API key is required", {
        "www-authenticate": 'Bearer realm="alarmcast"',
      });
    }
  }
}

/** The credential of `Authorization: Bearer <credential>`, if it holds exactly one. */
export function bearerOf(headers: Headers): string | undefined {
  const bearers = bearersOf(headers);
  return bearers.length === 1 ? bearers[0] : undefined;
}

/**
 * Every `Bearer` credential `Authorization` carries (several headers arrive joined by commas),
 * or `undefined` for one that says `Bearer` but isn't `Bearer <credential>`. Other schemes
 * (`Basic` from a proxy's login) are not ours, and left out.
 */
export function bearersOf(headers: Headers): (string | undefined)[] {
  const value = headers.get("authorization");
  if (value === null) return [];
  return value.split(",").filter((part) => /^\s*Bearer\b/i.test(part))
    .map((part) => /^\s*Bearer +(\S+)\s*$/i.exec(part)?.[1]);
}

// Comparing fixed-length digests makes the comparison independent of the key's length, and the
// loop below doesn't stop at the first differing byte.
async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
