/**
 * The read-only status routes: `/healthz`, `/metrics`, and `/api/sessions[/{id}]` (who is
 * online). Counts cover every isolate and instance (through KV presence); session details are
 * those held by the answering isolate.
 *
 * @module
 */
import { jsonResponse } from "./http_error.ts";
import type { Hub } from "./hub.ts";
import type { Metrics } from "./metrics.ts";

/**
 * `GET /healthz`. Reads the store, so a broken store makes the instance unhealthy (503), and
 * counts the isolates it can see through KV, so a Deploy app without a shared KV database shows.
 */
export async function health(hub: Hub, closing: boolean): Promise<Response> {
  if (closing) return jsonResponse({ status: "stopping" }, 503);
  const { instances } = await hub.presence.snapshot();
  return jsonResponse({ status: "ok", instance: hub.instance, instances });
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsText(hub: Hub, metrics: Metrics): Response {
  const text = metrics.render({
    sessions: hub.registry.size,
    ids: hub.registry.idCount,
    watched: hub.watchedIds,
    memory: Deno.memoryUsage(),
  });
  return new Response(text, {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}

/** Sessions per id across isolates, with this isolate's sessions in detail. */
export async function allSessions(hub: Hub): Promise<Response> {
  const counts = await hub.presence.counts();
  const byId = [...counts].filter(([, n]) => n > 0).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([id, count]) => ({ id, count, sessions: [...hub.registry.sessionsOf(id)] }));
  const sessions = byId.reduce((sum, entry) => sum + entry.count, 0);
  return jsonResponse({ sessions, ids: byId.length, byId });
}

/** One id: its sessions, its head seq, and how many alarms are unacknowledged. */
export async function sessionsOf(hub: Hub, id: string): Promise<Response> {
  const [counts, seq, acked] = await Promise.all([
    hub.presence.counts(),
    hub.store.head(id),
    hub.store.acked(id),
  ]);
  return jsonResponse({
    id,
    count: counts.get(id) ?? 0,
    sessions: [...hub.registry.sessionsOf(id)],
    seq,
    acked,
    unacknowledged: Math.max(0, seq - acked),
  });
}
