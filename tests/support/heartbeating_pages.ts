/**
 * Old pages in a process of their own: `count` legacy sockets spread over `ids` ids, every one
 * sending `PING` at once every `periodMs`, the way one page's timer does. Its own process, so its
 * timers and its answers to protocol pings keep their own pace while the server is busy.
 * Prints `open` once every socket is open, then a JSON line per socket that closes.
 *
 * Usage: deno run --allow-net heartbeating_pages.ts <ws base> <count> <ids> <periodMs>
 *
 * @module
 */
const [base, count, ids, periodMs] = Deno.args;
const encoder = new TextEncoder();
/** One line to the test reading this process's output. */
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));
const sockets: WebSocket[] = [];
for (let i = 0; i < Number(count); i++) {
  const socket = new WebSocket(`${base}/websocket/page-${i % Number(ids)}`);
  socket.onclose = (e) => say(JSON.stringify({ socket: i, code: e.code, reason: e.reason }));
  socket.onmessage = () => {};
  sockets.push(socket);
}
await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.onopen = resolve)));
say("open");
setInterval(() => {
  for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send("PING");
}, Number(periodMs));
