/**
 * Durable state on Deno KV behind one facade, {@linkcode AlarmStore}: the alarm log (one file per
 * backend: `kv_log.ts` with its group-commit `appender.ts`, `memory_log.ts`), acknowledgements,
 * relayed messages, presence records and watches. `schema.ts` is the only module that knows KV
 * keys. Imports `core` only.
 *
 * @module
 */
export type { Appended, Retention } from "./alarm_log.ts";
export type { StoredMessage } from "./messages.ts";
export { describeStore, openStore, type StoreKind, storeKind } from "./open.ts";
export { AlarmStore, type Heads, type PresenceRecord, type StoreOptions } from "./store.ts";
