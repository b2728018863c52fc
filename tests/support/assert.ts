/**
 * The subset of `@std/assert` this project uses, over `node:assert` (built into Deno), because JSR
 * is not reachable from the build machines. Switching to the real module is one line in
 * `deno.json`: `"@std/assert": "jsr:@std/assert@^1"`.
 *
 * @module
 */
import nodeAssert from "node:assert";

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg = "Expected value to be truthy"): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/** Asserts deep equality of `actual` and `expected`. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Asserts that `actual` and `expected` are not deeply equal. */
export function assertNotEquals(actual: unknown, expected: unknown, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** Asserts `Object.is` equality. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  nodeAssert.strictEqual(actual, expected, msg);
}

/** Asserts that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual === null || actual === undefined) {
    throw new AssertionError(msg ?? `Expected a value, got "${actual}"`);
  }
}

/** Asserts that `actual` matches `expected`. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  nodeAssert.match(actual, expected, msg);
}

/** Asserts that `actual` does not match `expected`. */
export function assertNotMatch(actual: string, expected: RegExp, msg?: string): void {
  nodeAssert.doesNotMatch(actual, expected, msg);
}

/** Asserts that `actual` is greater than `expected`. */
export function assertGreater(actual: number, expected: number, msg?: string): void {
  if (!(actual > expected)) {
    throw new AssertionError(msg ?? `Expected "${actual}" > "${expected}"`);
  }
}

/** Asserts that `actual` is less than `expected`. */
export function assertLess(actual: number, expected: number, msg?: string): void {
  if (!(actual < expected)) {
    throw new AssertionError(msg ?? `Expected "${actual}" < "${expected}"`);
  }
}

/** Asserts that `actual` is less than or equal to `expected`. */
export function assertLessOrEqual(actual: number, expected: number, msg?: string): void {
  if (!(actual <= expected)) {
    throw new AssertionError(msg ?? `Expected "${actual}" <= "${expected}"`);
  }
}

/** Asserts that `fn` throws an error of `ErrorClass` whose message includes `msgIncludes`. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => E,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes);
    return error as E;
  }
  throw new AssertionError("Expected function to throw");
}

/** Asserts that `fn` rejects with an error of `ErrorClass` whose message includes `msgIncludes`. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => E,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes);
    return error as E;
  }
  throw new AssertionError("Expected function to reject");
}

/** Fails unconditionally. */
export function fail(msg?: string): never {
  throw new AssertionError(msg ?? "Failed assertion");
}

function checkError(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => Error,
  msgIncludes?: string,
): void {
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(`Expected error to be instance of "${ErrorClass.name}"`);
  }
  if (msgIncludes !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes(msgIncludes)) {
      throw new AssertionError(`Expected error message to include "${msgIncludes}": "${message}"`);
    }
  }
}
