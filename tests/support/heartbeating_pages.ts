/**
 * Old pages in a process of their own: `count` legacy sockets spread over `ids` ids, every one
 * sending `PING` at once every `periodMs`, the way one page's timer does. Its own process, so its
 * timers and its answers to protocol pings keep their own pace while the server is busy.
 * Prints `open` once every socket is open, a JSON line per socket that closes, and once every
 * socket has received an alarm whose `message` is `"end"` (or closed), how many alarms each had
 * before it: `{"counts":[…]}`, by socket index (socket `i` is on id `page-<i % ids>`); then it
 * closes every socket, as pages that leave do, and exits once all are closed.
 *
 * Usage: deno run --allow-net heartbeating_pages.ts <ws base> <count> <ids> <periodMs>
 *
 * @module
 */
const [base, count, ids, periodMs] = Deno.args;
const encoder = new TextEncoder();
/** One line to the test reading this process's output, whole (a pipe may take part of a write). */
function say(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}
const sockets: WebSocket[] = [];
const counts: number[] = new Array(Number(count)).fill(0);
const ended = new Set<number>();
let leaving = false;
const closed = new Set<number>();
const end = (i: number) => {
  ended.add(i);
  if (ended.size < counts.length || leaving) return;
  say(JSON.stringify({ counts }));
  leaving = true;
  for (const socket of sockets) socket.close();
};
for (let i = 0; i < Number(count); i++) {
  const socket = new WebSocket(`${base}/websocket/page-${i % Number(ids)}`);
  socket.onclose = (e) => {
    closed.add(i);
    if (leaving) {
      if (closed.size === counts.length) Deno.exit(0);
      return;
    }
    say(JSON.stringify({ socket: i, code: e.code, reason: e.reason }));
    end(i);
  };
  socket.onmessage = (e) => {
    if (!String(e.data).includes('"message":"end"')) counts[i]!++;
    else end(i);
  };
  sockets.push(socket);
}
await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.onopen = resolve)));
say("open");
setInterval(() => {
  for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.send("PING");
}, Number(periodMs));
