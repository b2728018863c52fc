/**
 * Connection tokens: HS256 JSON Web Tokens, so any backend can mint one with a stock JWT library
 * or a few lines of HMAC-SHA256. Claims: `sub`, the id the session may open (an id, a prefix
 * ending in `*`, or `*` for any); `exp`, expiry in epoch seconds; optionally `send`, the ids (or
 * prefixes) it may `send` to, `name`, the person it acts as on conditions (their `by`), and
 * `nbf`, epoch seconds before which it is refused (with a minute's leeway). Verification pins
 * the algorithm and accepts the current or the previous secret, so secrets rotate without
 * dropping anyone.
 *
 * @module
 */
import { actorNameOf, isActorName, RESERVED_ACTORS } from "./condition.ts";
import { isMisleadingName } from "./visible.ts";
import { InvalidInput, refuseUnknownFields } from "./errors.ts";
import { isJsonObject, type JsonObject } from "./json.ts";

/** What a valid token grants. */
export interface Grant {
  /** The id pattern the session may open. */
  sub: string;
  /** Who acts on conditions with it (an operator's name), if the token says. */
  name?: string;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
  /** Id patterns the session may `send` to. */
  send: string[];
}

/** Why a token was refused. */
export type TokenFailure = "malformed" | "bad_signature" | "expired" | "not_yet_valid";

/** The outcome of {@linkcode TokenKeys.verify}. */
export type Verified = { ok: true; grant: Grant } | { ok: false; reason: TokenFailure };

const PATTERN = /^(?:\*|[A-Za-z0-9_.:-]{1,128}\*?)$/;
const HEADER = base64url(new TextEncoder().encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
const MAX_TOKEN_LENGTH = 4096;
/** The last second `Date` can represent (8.64e15 ms), as a token's `exp`. */
const MAX_EXP = 8_640_000_000_000;
const MAX_SEND_GRANTS = 100;
/**
 * How far a token's `nbf` may be ahead of this server's clock, in seconds: the backend that minted
 * it a moment ago may run a little ahead.
 */
export const NOT_BEFORE_LEEWAY_SECONDS = 60;
/** Longest token lifetime a backend may ask for, in seconds. */
export const MAX_TTL_SECONDS = 86_400;
const DEFAULT_TTL_SECONDS = 3600;

/** What a backend asks a token for: `{"id": "plant-3" | "plant-*" | "*", "ttl"?, "send"?}`. */
export interface TokenRequest {
  /** The id pattern the token opens. */
  sub: string;
  /** Who acts with it on conditions, if given. */
  name?: string;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** Id patterns the session may `send` to. */
  send: string[];
}

/** A minted token and when it expires. */
export interface IssuedToken {
  token: string;
  /** ISO-8601 UTC. */
  expiresAt: string;
}

/** Whether the id pattern `pattern` (exact, `prefix*` or `*`) covers `id`. */
export function idMatches(pattern: string, id: string): boolean {
  return pattern.endsWith("*") ? id.startsWith(pattern.slice(0, -1)) : pattern === id;
}

/** Whether `value` is a valid id pattern. */
export function isIdPattern(value: unknown): value is string {
  return typeof value === "string" && PATTERN.test(value);
}

const TOKEN_REQUEST_FIELDS = new Set(["id", "ttl", "send", "name"]);

/** Validates a token request `body`; throws {@linkcode InvalidInput} naming the field. */
export function parseTokenRequest(body: JsonObject): TokenRequest {
  refuseUnknownFields(body, TOKEN_REQUEST_FIELDS);
  const { id, ttl = DEFAULT_TTL_SECONDS, send = [] } = body;
  if (!isIdPattern(id)) {
    throw new InvalidInput(
      "invalid_field",
      `Field "id" must be an id, a prefix ending in "*", or "*"`,
    );
  }
  if (typeof ttl !== "number" || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new InvalidInput(
      "invalid_field",
      `Field "ttl" must be an integer from 1 to ${MAX_TTL_SECONDS} seconds`,
    );
  }
  if (!Array.isArray(send) || send.length > MAX_SEND_GRANTS || !send.every(isIdPattern)) {
    throw new InvalidInput(
      "invalid_field",
      `Field "send" must be an array of at most ${MAX_SEND_GRANTS} id patterns`,
    );
  }
  const name = actorNameOf("name", body.name);
  return { sub: id, ttlSeconds: ttl, send, ...(name === undefined ? {} : { name }) };
}

/**
 * Who a grant's holder acts as on conditions: its `name`, else its id pattern (`token:api` for
 * the id `api`, as for the other names the server writes itself: `system`, `anonymous`).
 */
export function actorOf(grant: Grant): string {
  return grant.name ??
    (isMisleadingName(grant.sub, RESERVED_ACTORS) ? `token:${grant.sub}` : grant.sub);
}

/** HMAC keys for signing (with the first secret) and verifying (with any). */
export class TokenKeys {
  readonly #keys: Promise<CryptoKey[]>;

  constructor(secrets: readonly string[]) {
    this.#keys = Promise.all(secrets.map((secret) =>
      crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign", "verify"],
      )
    ));
  }

  /** Mints a token for `sub` valid until `expiresAt` (epoch ms), acting as `name` if given. */
  async sign(
    sub: string,
    expiresAt: number,
    send: readonly string[] = [],
    name?: string,
  ): Promise<string> {
    const claims = {
      sub,
      exp: Math.floor(expiresAt / 1000),
      ...(send.length ? { send } : {}),
      ...(name === undefined ? {} : { name }),
    };
    const body = `${HEADER}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}`;
    const [key] = await this.#keys;
    if (!key) throw new Error("No signing secret");
    const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
    return `${body}.${base64url(new Uint8Array(signature))}`;
  }

  /** Mints the token `request` asks for, valid from `now` (epoch ms) for whole seconds. */
  async issue(request: TokenRequest, now: number): Promise<IssuedToken> {
    const expiresAt = (Math.floor(now / 1000) + request.ttlSeconds) * 1000;
    const token = await this.sign(request.sub, expiresAt, request.send, request.name);
    return { token, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Checks signature, algorithm and expiry at `now` (epoch ms). Never throws. */
  async verify(token: string, now: number): Promise<Verified> {
    const parts = token.length <= MAX_TOKEN_LENGTH ? token.split(".") : [];
    const [header, payload, signature] = parts;
    // The algorithm is pinned: "none" or an asymmetric alg never reaches the signature check.
    if (parts.length !== 3 || !header || !payload || !signature || !isHs256(parseJson(header))) {
      return { ok: false, reason: "malformed" };
    }
    const sig = fromBase64url(signature);
    if (!sig) return { ok: false, reason: "malformed" };
    const data = new TextEncoder().encode(`${header}.${payload}`);
    let valid = false;
    for (const key of await this.#keys) {
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", key, sig, data)) valid = true;
    }
    if (!valid) return { ok: false, reason: "bad_signature" };
    const claims = parseJson(payload);
    const grant = parseClaims(claims);
    const notBefore = isJsonObject(claims) ? claims.nbf : undefined;
    // RFC 7519: a token must not be accepted before its `nbf`, when it has one.
    if (!grant || !(notBefore === undefined || typeof notBefore === "number")) {
      return { ok: false, reason: "malformed" };
    }
    if (grant.expiresAt <= now) return { ok: false, reason: "expired" };
    if (notBefore !== undefined && notBefore - NOT_BEFORE_LEEWAY_SECONDS > now / 1000) {
      return { ok: false, reason: "not_yet_valid" };
    }
    return { ok: true, grant };
  }
}

function parseJson(part: string | undefined): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64url(part ?? "")));
  } catch {
    return undefined;
  }
}

function isHs256(header: unknown): boolean {
  return isJsonObject(header) && header.alg === "HS256" &&
    (header.typ === undefined || header.typ === "JWT");
}

function parseClaims(claims: unknown): Grant | undefined {
  if (!isJsonObject(claims)) return undefined;
  const { sub, exp, send, name } = claims;
  // A date JavaScript can hold: past it, an expiry can't be shown (or compared) as a date.
  if (!isIdPattern(sub) || typeof exp !== "number" || !(exp >= 0 && exp <= MAX_EXP)) {
    return undefined;
  }
  const sendOk = send === undefined ||
    (Array.isArray(send) && send.length <= MAX_SEND_GRANTS && send.every(isIdPattern));
  if (!sendOk || (name !== undefined && !isActorName(name))) return undefined;
  const grant: Grant = { sub, expiresAt: exp * 1000, send: send ?? [] };
  if (name !== undefined) grant.name = name;
  return grant;
}

/** Base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  // The alphabet only: the decoder itself would also take whitespace and padding.
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    // Strict: spare bits in the last character set would give each token several spellings.
    const bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
    return base64url(bytes) === text ? bytes : undefined;
  } catch {
    return undefined;
  }
}
