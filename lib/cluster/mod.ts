/**
 * Knowing the other isolates and instances that share the store: presence (who is online where,
 * published to the store and merged on read) and discovery (whether this isolate is alone, which
 * decides whether it must watch the store for others' alarms). Imports `store`, `core`,
 * `observe`.
 *
 * @module
 */
export { type Arrivals, Discovery, type DiscoveryHooks } from "./discovery.ts";
export {
  type LocalSessions,
  Presence,
  PRESENCE_REFRESH_MS,
  type PresenceRecords,
  type PresenceView,
  SNAPSHOT_MS,
} from "./presence.ts";
