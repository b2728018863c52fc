/**
 * Durable state on Deno KV behind one facade, {@linkcode AlarmStore}: the alarm log (one file per
 * backend: `kv_log.ts` with its group-commit `appender.ts`, `memory_log.ts`), acknowledgements,
 * relayed messages, presence records, escalation policies and deadlines (`escalations.ts`), the
 * ends of shelvings (`shelvings.ts`), and
 * watches. `schema.ts` is the only module that knows KV
 * keys. Imports `core` only.
 *
 * @module
 */
export type { AlarmLog, Appended, DueSpec, Retention } from "./alarm_log.ts";
export { FEED_TTL_MS, type FeedEntry, type RelayedMessage } from "./feed.ts";
export { bucketOf, FEED_BUCKETS } from "./schema.ts";
export {
  buildStore,
  describeStore,
  isAccessRefused,
  openStore,
  redactUrls,
  type StoreKind,
  storeKind,
  storeOptionsFor,
  storePathProblem,
  type StoreSpec,
} from "./open.ts";
export type { CommitLimits } from "./appender.ts";
export type { KvLike } from "./call_timeout.ts";
export type { Claim, DueEntry, DueRecord } from "./escalations.ts";
export type { ShelvingEnd } from "./shelvings.ts";
export {
  AlarmStore,
  DEFAULT_STORE_TIMEOUT_MS,
  type PresenceRecord,
  type PresenceSnapshot,
  type StoreOptions,
} from "./store.ts";
