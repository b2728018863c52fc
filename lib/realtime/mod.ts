/**
 * Sessions and delivery on one isolate: the {@linkcode Hub} facade over the session registry,
 * each session's handlers, inbound routing, fan-out from the store, replay, heartbeat sweep and
 * shutdown drain. The contracts with the edges live here and transport adapters import them:
 * the socket (`socket.ts`), the wire format and the transport's traits (`codec.ts`). Imports `cluster`, the store facade, `core`, `observe`.
 *
 * @module
 */
export type { Codec, Inbound, SessionEvent, Transport, Wire } from "./codec.ts";
export {
  type Deadlines,
  Hub,
  type HubLimits,
  type HubOptions,
  type HubStore,
  type IdStatus,
  type Published,
  UNACKNOWLEDGED_SAMPLE,
} from "./hub.ts";
export { Registry, type Slot } from "./registry.ts";
export { Session } from "./session.ts";
export { OPEN, type PushSocket, type SocketHandlers } from "./socket.ts";
