// The alarm every peer sends, stamped as alarmcast stamps it (server id, seq per target, target,
// createTime), so all servers send frames of the same size and answer the same fields.

/**
 * Stamps `body` as the next alarm of `target` and encodes it once.
 *
 * @param {Map<string, number>} seqs last seq per target, updated
 * @param {string} target
 * @param {Record<string, unknown>} body
 * @returns {{ id: string, seq: number, frame: string }}
 */
// deno-lint-ignore explicit-module-boundary-types -- typed by JSDoc: Node and Bun import it too
export function stampAlarm(seqs, target, body) {
  const seq = (seqs.get(target) ?? 0) + 1;
  seqs.set(target, seq);
  const id = crypto.randomUUID();
  const frame = JSON.stringify({
    ...body,
    id,
    seq,
    target,
    createTime: new Date().toISOString(),
  });
  return { id, seq, frame };
}
