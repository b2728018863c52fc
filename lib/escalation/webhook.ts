/**
 * Escalation webhooks: one signed POST per attempt. The signature is HMAC-SHA256 over
 * `<timestamp>.<body>` with the shared secret, so a receiver can check both the sender and the
 * freshness; the idempotency key is the same on every attempt, so a retried delivery is
 * recognised. Only origins on the configured allowlist are ever requested, and redirects are not
 * followed (a redirect could lead anywhere).
 *
 * @module
 */
import { pauseAfter } from "../core/mod.ts";

/** Header with the signature: `v1=<hex>`. */
export const SIGNATURE_HEADER = "x-alarmcast-signature";
/** Header with the signing time, Unix seconds. */
export const TIMESTAMP_HEADER = "x-alarmcast-timestamp";
/** Header with the idempotency key, the same on every attempt of one escalation. */
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** How webhooks are sent. */
export interface WebhookSettings {
  /** Exact origins (`https://hooks.example.com`) webhooks may go to; empty: none. */
  allowedOrigins: readonly string[];
  /** The HMAC secret; webhooks are refused without one. */
  secret: string | undefined;
  /** Milliseconds an attempt may take. */
  timeoutMs: number;
  /** Attempts per escalation before it counts as failed. */
  maxAttempts: number;
  /** Delay before the first retry; doubled on each retry up to `maxBackoffMs`. */
  backoffMs: number;
  /** Longest delay between attempts. */
  maxBackoffMs: number;
}

/**
 * How one attempt went: `retry` for network errors, timeouts, 408, 429 and 5xx; with why it was
 * not delivered, for the log.
 */
export type Attempt =
  | { outcome: "delivered" }
  | { outcome: "retry" | "failed"; reason: string };

/** Whether `url`'s origin is on the allowlist. */
export function webhookAllowed(
  settings: Pick<WebhookSettings, "allowedOrigins">,
  url: URL,
): boolean {
  return settings.allowedOrigins.includes(url.origin);
}

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. */
export async function sign(secret: string, timestamp: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return new Uint8Array(mac).toHex();
}

/** The delay before attempt `attempt` + 1 (after `attempt` failed ones), capped. */
export function backoff(settings: WebhookSettings, attempt: number): number {
  return pauseAfter({ firstMs: settings.backoffMs, maxMs: settings.maxBackoffMs }, attempt);
}

/** POSTs `body` to `url`, signed at `now`; never throws. */
export async function attemptWebhook(
  settings: WebhookSettings,
  url: string,
  body: string,
  idempotencyKey: string,
  now: number,
): Promise<Attempt> {
  // The configuration may have changed since the policy was stored.
  const secret = settings.secret;
  if (secret === undefined) return { outcome: "failed", reason: "WEBHOOK_SECRET is not set" };
  if (!URL.canParse(url) || !webhookAllowed(settings, new URL(url))) {
    return { outcome: "failed", reason: "Origin is not in WEBHOOK_ALLOWED_ORIGINS" };
  }
  const timestamp = String(Math.floor(now / 1000));
  const signal = AbortSignal.timeout(settings.timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      redirect: "manual",
      signal,
      headers: {
        "content-type": "application/json",
        "user-agent": "alarmcast-webhook",
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: `v1=${await sign(secret, timestamp, body)}`,
        [IDEMPOTENCY_HEADER]: idempotencyKey,
      },
      body,
    });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { outcome: "delivered" };
    const again = res.status >= 500 || res.status === 408 || res.status === 429;
    return { outcome: again ? "retry" : "failed", reason: `Answered ${res.status}` };
  } catch (error) {
    const reason = signal.aborted
      ? `No answer within ${settings.timeoutMs} ms`
      : `Request failed: ${error instanceof Error ? error.message : String(error)}`;
    return { outcome: "retry", reason };
  }
}
