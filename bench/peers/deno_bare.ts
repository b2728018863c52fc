/**
 * The floor: bare Deno on the same contract. `Deno.serve`, `Deno.upgradeWebSocket`, a `Map` of
 * sockets per id, no checks, no store. `POST /api/alarms/{id}` stamps a seq and sends the alarm
 * to every socket of the id; `GET /websocket/{id}` upgrades.
 *
 * @module
 */
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
  const alarm = await req.json();
  const seq = (seqs.get(id) ?? 0) + 1;
  seqs.set(id, seq);
  // The same alarm as alarmcast's: an id stamped by the server, so frames are alike in size.
  const alarmId = crypto.randomUUID();
  const frame = JSON.stringify({
    ...alarm,
    id: alarmId,
    seq,
    target: id,
    createTime: new Date().toISOString(),
  });
  let delivered = 0;
  for (const socket of sockets.get(id) ?? []) {
    socket.send(frame);
    delivered++;
  }
  return Response.json({ id: alarmId, seq, target: id, delivered }, { status: 202 });
});
