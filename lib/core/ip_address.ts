/**
 * IP addresses as Deno reports a peer's: what `TRUSTED_PROXIES` lists and what a trusted proxy's
 * `X-Forwarded-For` may name, compared as text.
 *
 * @module
 */

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * `text` as the peer address Deno reports compares to it (IPv4 as written, IPv6 in its
 * canonical form, IPv4-mapped IPv6 as IPv4), or `undefined` when it is no IP address.
 */
export function ipAddress(text: string): string | undefined {
  if (IPV4.test(text)) return text;
  if (!text.includes(":") || /[^0-9A-Fa-f:.]/.test(text)) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  // An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address: one client, one
  // bucket of the per-address limits.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
