// Bun on the same contract, idiomatically: one pub/sub topic per id, published once per alarm.
const seqs = new Map();

Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 8092),
  async fetch(req, server) {
    const parts = new URL(req.url).pathname.split("/");
    if (parts[1] === "websocket") {
      return server.upgrade(req, { data: { id: parts[2] ?? "" } })
        ? undefined
        : new Response(null, { status: 400 });
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
    server.publish(id, frame);
    return Response.json({
      id: alarmId,
      seq,
      target: id,
      delivered: server.subscriberCount(id),
    }, { status: 202 });
  },
  websocket: {
    open(ws) {
      ws.subscribe(ws.data.id);
    },
    message() {},
  },
});
