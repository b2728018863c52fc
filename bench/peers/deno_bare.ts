/**
 * The floor: bare Deno on the same contract. `Deno.serve`, `Deno.upgradeWebSocket`, a `Map` of
 * sockets per id, no checks, no store. `POST /api/alarms/{id}` stamps the alarm (`contract.mjs`)
 * and sends it to every socket of the id; `GET /websocket/{id}` upgrades.
 *
 * With `KV_PATH` (a SQLite file or a KV Connect URL), the floor a store allows: each alarm is
 * first one KV commit of its own (its JSON, expiring, and its id's head), answered once committed;
 * no checks, no batching.
 *
 * @module
 */
import { stampAlarm } from "./contract.mjs";

const kvPath = Deno.env.get("KV_PATH");
const kv = kvPath ? await Deno.openKv(kvPath) : undefined;
const DAY_MS = 86_400_000;

const sockets = new Map<string, Set<WebSocket>>();
const seqs = new Map<string, number>();

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8090),
  onListen() {},
}, async (req) => {
  // "/websocket/{id}" or "/api/alarms/{id}"
  const parts = new URL(req.url).pathname.split("/");
  if (parts[1] === "websocket") {
    const wsId = parts[2] ?? "";
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => {
      let set = sockets.get(wsId);
      if (!set) sockets.set(wsId, set = new Set());
      set.add(socket);
    };
    socket.onclose = () => sockets.get(wsId)?.delete(socket);
    return response;
  }
  const id = parts[3] ?? "";
  const { id: alarmId, seq, frame } = stampAlarm(seqs, id, await req.json());
  await kv?.atomic().set(["floor", id, seq], frame, { expireIn: DAY_MS }).set(["floor", id], seq)
    .commit();
  let delivered = 0;
  for (const socket of sockets.get(id) ?? []) {
    socket.send(frame);
    delivered++;
  }
  return Response.json({ id: alarmId, seq, target: id, delivered }, {
    status: 202,
  });
});
