/**
 * The read-only status routes: `/healthz`, `/metrics`, and `/api/sessions[/{id}]` (who is
 * online). Counts cover every isolate and instance (through presence in the store); session
 * details are those held by the answering isolate.
 *
 * @module
 */
import { VERSION } from "../core/mod.ts";
import { MAX_ID_SERIES, type Metrics } from "../observe/mod.ts";
import type { Hub } from "../realtime/mod.ts";
import { jsonResponse } from "./errors.ts";

/**
 * `GET /healthz`. Writes and reads the store, so a store that can't take writes makes the
 * instance unhealthy (503 `store_unavailable`), and
 * counts the isolates it can see through it, so a Deploy app without a shared KV database shows.
 */
export async function health(hub: Hub, closing: boolean): Promise<Response> {
  if (closing) return jsonResponse({ status: "stopping" }, 503);
  const instances = await hub.instances();
  return jsonResponse({
    status: "ok",
    version: VERSION,
    instance: hub.instance,
    instances,
    delivery: hub.delivery,
  });
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsText(hub: Hub, metrics: Metrics): Response {
  const text = metrics.render({
    sessions: hub.size,
    closing: hub.closing,
    ids: hub.idCount,
    watches: hub.watches,
    following: hub.following ? 1 : 0,
    memory: Deno.memoryUsage(),
    floods: hub.floods,
    chattering: hub.chattering,
    busiest: hub.busiest(MAX_ID_SERIES),
  });
  return new Response(text, {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}

/** Sessions per id across isolates, with this isolate's sessions in detail. */
export async function allSessions(hub: Hub): Promise<Response> {
  const counts = await hub.online();
  const byId = [...counts].filter(([, n]) => n > 0).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([id, count]) => ({ id, count, sessions: [...hub.sessionsOf(id)] }));
  const sessions = byId.reduce((sum, entry) => sum + entry.count, 0);
  return jsonResponse({ sessions, ids: byId.length, byId });
}

/**
 * One id: its sessions, its head seq, and how many alarms are unacknowledged: null until some
 * client of the id acknowledges, since old pages never can and their backlog would only grow.
 */
export async function sessionsOf(hub: Hub, id: string): Promise<Response> {
  const { count, seq, acked, unacknowledged } = await hub.status(id);
  return jsonResponse({
    id,
    count,
    sessions: [...hub.sessionsOf(id)],
    seq,
    acked: acked ?? 0,
    unacknowledged,
  });
}
