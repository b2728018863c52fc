/**
 * Errors the domain raises, free of any transport: the HTTP layer maps each to a status
 * (`InvalidInput` to 400, `Conflict` to 409, `NotFound` to 404, `StoreError` to 503) in its one
 * error boundary.
 *
 * @module
 */
import { quote } from "./ids.ts";

/** Input that breaks a rule of the domain; `code` is a stable snake_case label for clients. */
export class InvalidInput extends Error {
  override name = "InvalidInput";
  /** A stable snake_case code clients can branch on. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Input over a size limit of the domain; `code` as for {@linkcode InvalidInput}. */
export class TooLarge extends InvalidInput {
  override name = "TooLarge";
}

/** A request the current state doesn't allow (a condition's, say); `code` as for `InvalidInput`. */
export class Conflict extends InvalidInput {
  override name = "Conflict";
}

/** A request about something that doesn't exist; `code` as for {@linkcode InvalidInput}. */
export class NotFound extends InvalidInput {
  override name = "NotFound";
}

/** The store can't be read or written right now; callers answer "try again later". */
export class StoreError extends Error {
  override name = "StoreError";
}

/**
 * Refuses the first field of `body` not in `allowed` with `unknown_field` (`path`: where `body`
 * sits, such as `"match."`): a misspelt field fails loudly instead of leaving its default.
 */
export function refuseUnknownFields(
  body: Readonly<Record<string, unknown>>,
  allowed: ReadonlySet<string>,
  path = "",
): void {
  for (const name of Object.keys(body)) {
    if (!allowed.has(name)) {
      throw new InvalidInput("unknown_field", `Field ${quote(path + name)} is not allowed`);
    }
  }
}
