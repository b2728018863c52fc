/**
 * IP addresses as Deno reports a peer's: what `TRUSTED_PROXIES` lists and what a trusted proxy's
 * `X-Forwarded-For` may name, compared as text.
 *
 * @module
 */

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * `text` as the peer address Deno reports compares to it (IPv4 as written, IPv6 in its
 * canonical form), or `undefined` when it is no IP address.
 */
export function ipAddress(text: string): string | undefined {
  if (IPV4.test(text)) return text;
  if (!text.includes(":") || /[^0-9A-Fa-f:.]/.test(text)) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
