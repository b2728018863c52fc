/**
 * A small, stable string hash for spreading ids over buckets and chunks (not for security).
 *
 * @module
 */

/** FNV-1a over the UTF-16 units of `text`, as an unsigned 32-bit integer. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
