/**
 * The HTTP side: the router behind one `(Request) => Promise<Response>`, the one error boundary
 * (every error becomes `{"error":{"code","message"}}`), request helpers, API-key auth, admission
 * of upgrades, static files, the publish, status and token routes, and the Deno WebSocket
 * adapter (`upgrade.ts`, the only caller of `Deno.upgradeWebSocket`). Imports the realtime
 * facade, `core`, `observe` and the configuration.
 *
 * @module
 */
export { type ConnInfo, createHandler, type HandlerOptions, type HttpHandler } from "./handler.ts";
export { isListenSettingError, listen, type Listener, type ListenOptions } from "./listen.ts";
export { LEGACY_WIRE, V1_WIRE } from "./upgrade.ts";
