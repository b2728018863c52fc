/**
 * `deno task token --id <id|prefix*|*> [--ttl <seconds>] [--send <pattern,...>] [--name <who>]`:
 * mints a
 * connection token with `WS_TOKEN_SECRET`, the same as `POST /api/tokens`, and prints
 * `{"token","expiresAt"}`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InvalidInput, parseTokenRequest, TokenKeys } from "../lib/core/mod.ts";

/** Refused for a reason with a stable code, printed as `{"error":{"code","message"}}`. */
class Refusal extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The options; throws (a usage error) on an unknown one, a missing value or a stray word. */
function flags(args: string[]): { id?: string; ttl?: string; send?: string; name?: string } {
  return parseArgs({
    args,
    options: {
      id: { type: "string" },
      ttl: { type: "string" },
      send: { type: "string" },
      name: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

const USAGE =
  `Usage: WS_TOKEN_SECRET=<secret> deno task token --id <id|prefix*|*> [--ttl <seconds>] [--send <pattern,...>] [--name <who>]

Mints a connection token, as POST /api/tokens does, and prints {"token","expiresAt"}.
  --id    the id the token opens: an id, a prefix ending in "*", or "*"
  --ttl   lifetime in seconds (default 3600, at most 86400)
  --send  ids or prefixes the session may send to, comma-separated
  --name  who the session acts as on conditions (an operator's name, the "by" of their actions)`;

/** The server refuses shorter secrets; a token signed with one would open nothing. */
const MIN_SECRET_LENGTH = 32;

async function main(): Promise<number> {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    // deno-lint-ignore no-console -- a CLI's output is its console
    console.log(USAGE);
    return 0;
  }
  const secret = Deno.env.get("WS_TOKEN_SECRET");
  const { id, ttl, send, name } = flags(Deno.args);
  const body = {
    id,
    ...(ttl === undefined ? {} : { ttl: Number(ttl) }),
    ...(send === undefined ? {} : { send: send.split(",").map((p) => p.trim()) }),
    ...(name === undefined ? {} : { name }),
  };
  if (!secret) throw new Refusal("tokens_disabled", "WS_TOKEN_SECRET is not set");
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Refusal(
      "invalid_secret",
      `WS_TOKEN_SECRET must be at least ${MIN_SECRET_LENGTH} characters, as the server requires`,
    );
  }
  const request = parseTokenRequest(body);
  const issued = await new TokenKeys([secret]).issue(request, Date.now());
  // deno-lint-ignore no-console -- a CLI's output is its console
  console.log(JSON.stringify(issued));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // deno-lint-ignore no-console -- a CLI's errors go to stderr
    console.error(
      JSON.stringify({
        error: {
          code: error instanceof InvalidInput || error instanceof Refusal ? error.code : "usage",
          message,
        },
      }),
    );
    Deno.exit(2);
  }
}
