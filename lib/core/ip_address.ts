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

/**
 * The bucket of the per-address limits `address` (as {@linkcode ipAddress} gives it) counts in:
 * an IPv4 address itself, an IPv6 address by its /64, the block one subscriber is given (each of
 * its addresses counted apart would let one client take any number of places).
 */
export function addressBucket(address: string): string {
  if (!address.includes(":") || address.includes(".")) return address;
  const [head = "", tail] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined
    ? left
    : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  if (groups.length !== 8) return address;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}
