// Node 20 + ws on the same contract: http server, ws in noServer mode, a Map of sockets per id.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { stampAlarm } from "./contract.mjs";

const sockets = new Map();
const seqs = new Map();
const wss = new WebSocketServer({ noServer: true });

const server = createServer((req, res) => {
  const id = req.url.split("/")[3] ?? "";
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const { id: alarmId, seq, frame } = stampAlarm(seqs, id, body);
    let delivered = 0;
    for (const socket of sockets.get(id) ?? []) {
      socket.send(frame);
      delivered++;
    }
    res.writeHead(202, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: alarmId, seq, target: id, delivered }));
  });
});

server.on("upgrade", (req, socket, head) => {
  const id = req.url.split("/")[2] ?? "";
  wss.handleUpgrade(req, socket, head, (ws) => {
    let set = sockets.get(id);
    if (!set) sockets.set(id, set = new Set());
    set.add(ws);
    ws.on("close", () => set.delete(ws));
    ws.on("message", () => {});
  });
});

server.listen(Number(process.env.PORT ?? 8091), "127.0.0.1");
