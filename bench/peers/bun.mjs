// Bun on the same contract, idiomatically: one pub/sub topic per id, published once per alarm.
import { stampAlarm } from "./contract.mjs";

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
    const { id: alarmId, seq, frame } = stampAlarm(seqs, id, await req.json());
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
