// Load generator for bench/run.ts, on the `ws` API because it can pick the local address: sockets
// are spread over 127.0.0.2… so 50k connections fit in the ephemeral port range. Runs under Bun
// (faster, so the servers rather than the generator set the pace) or Node.
// Usage: bun|node load.mjs '<json job>'; prints JSON lines: {"event":"ready"|"measuring"|"result",…}.
import { Agent, request } from "node:http";
import { WebSocket } from "ws";

const job = JSON.parse(process.argv[2]);
const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
const SOURCES = 8; // 127.0.0.2 … 127.0.0.9, ~28k ports each
const PUSH = 0x70; // "p": the third byte of a Centrifugo push, `{"push":…}`
const NEWLINE = 0x0a;

/**
 * How the generator speaks to a server: alarmcast's API (and the peers that copy it), or
 * Centrifugo's: a channel per id, its JSON protocol over WebSocket (connect, subscribe, pongs),
 * publishing through its HTTP API.
 */
const DIALECTS = {
  alarmcast: {
    socketPath: (id) => `/websocket/${id}`,
    opened: () => {},
    /** Alarms in a frame, answering what needs an answer. */
    alarms: () => 1,
    heartbeat: (socket) => socket.send("PING"),
    publishPath: (id) => `/api/alarms/${id}`,
    publishBody: (_id, body) => body,
    publishHeaders: {},
    accepted: 202,
  },
  centrifugo: {
    socketPath: () => "/connection/websocket",
    opened: (socket, id) =>
      socket.send(`{"id":1,"connect":{}}\n{"id":2,"subscribe":{"channel":"${id}"}}`),
    // Replies start `{"id"`, pings are `{}` (answered with `{}`); a frame may hold several.
    alarms: (data, socket) => {
      if (data.indexOf(NEWLINE) < 0) {
        if (data.length === 2) socket.send("{}");
        return data[2] === PUSH ? 1 : 0;
      }
      let n = 0;
      for (const line of data.toString().split("\n")) {
        if (line === "{}") socket.send("{}");
        else if (line.startsWith('{"push"')) n++;
      }
      return n;
    },
    heartbeat: () => {}, // the server pings
    publishPath: () => "/api/publish",
    publishBody: (id, body) => `{"channel":${JSON.stringify(id)},"data":${body}}`,
    publishHeaders: { "x-api-key": job.centrifugoKey }, // peers/centrifugo.ts
    accepted: 200,
  },
};

/**
 * Opens `count` sockets spread over `ids`, calling `onMessage(index)` per frame, and heartbeats
 * them like the old page (PING every 30 s) so the server's liveness sweep keeps them.
 */
async function connect(
  count,
  ids,
  onMessage,
  ws = job.ws,
  dialect = DIALECTS[job.dialect ?? "alarmcast"],
  onClose = () => {},
) {
  const sockets = [];
  const batch = 500; // connect in waves so the accept queue never overflows
  for (let start = 0; start < count; start += batch) {
    const wave = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const id = ids[i % ids.length];
      const socket = new WebSocket(`${ws}${dialect.socketPath(id)}`, {
        localAddress: `127.0.0.${2 + (i % SOURCES)}`,
        perMessageDeflate: false,
      });
      socket.on("message", (data) => {
        for (let n = dialect.alarms(data, socket); n > 0; n--) onMessage(i);
      });
      socket.on("close", (code, reason) => onClose(i, code, String(reason)));
      socket.on("error", (error) => emit("socket_error", { message: String(error) }));
      wave.push(
        new Promise((resolve, reject) => {
          socket.once("open", () => {
            dialect.opened(socket, id);
            resolve();
          });
          socket.once("error", reject);
        }),
      );
      sockets.push(socket);
    }
    await Promise.all(wave);
  }
  setInterval(() => {
    for (const ws of sockets) if (ws.readyState === 1) dialect.heartbeat(ws);
  }, 30_000).unref();
  return sockets;
}

/**
 * Opens `count` Server-Sent Events streams (`/events/{id}`) spread over `ids`, one connection
 * each, calling `onMessage(index)` per alarm event (an event whose data is an alarm object).
 */
async function connectStreams(count, ids, onMessage, http = job.http) {
  const url = new URL(http);
  const marker = 'data: {"level"'; // every alarm of the load starts so; control events don't
  const streams = [];
  const batch = 500;
  for (let start = 0; start < count; start += batch) {
    const wave = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const id = ids[i % ids.length];
      wave.push(
        new Promise((resolve, reject) => {
          const req = request({
            host: url.hostname,
            port: url.port,
            path: `/events/${id}`,
            localAddress: `127.0.0.${2 + (i % SOURCES)}`,
            agent: false,
          }, (res) => {
            if (res.statusCode !== 200) {
              return reject(new Error(`GET answered ${res.statusCode}`));
            }
            res.setEncoding("utf8");
            let tail = "";
            res.on("data", (chunk) => {
              const text = tail + chunk;
              for (
                let at = text.indexOf(marker);
                at >= 0;
                at = text.indexOf(marker, at + 1)
              ) {
                onMessage(i);
              }
              tail = text.slice(-(marker.length - 1));
            });
            resolve(res);
          });
          req.on("error", reject);
          req.end();
          streams.push(req);
        }),
      );
    }
    await Promise.all(wave);
  }
  return streams;
}

/**
 * A client sees "open" before the server has registered the socket. Publish warm-up alarms to
 * every id until every socket has received one, so the measurement starts with all registered.
 */
async function warmUp(ids, counts, url = target, dialect = DIALECTS[job.dialect ?? "alarmcast"]) {
  for (let round = 0; round < 100; round++) {
    await Promise.all(ids.map((id) => post(id, ALARM, false, url, dialect)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (counts.every((n) => n > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // let the last round drain
      return;
    }
  }
  throw new Error("Some sockets never received an alarm");
}

// Keep-alive connections: Node's fetch costs more CPU than the servers spend on a POST.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(job.http);

/**
 * POSTs an alarm over a keep-alive connection. Resolves with the answer's JSON when `json` is set
 * (the half-load scenario needs the seq), else with nothing, sparing the generator the parse.
 */
function post(
  id,
  alarm,
  json = false,
  url = target,
  dialect = DIALECTS[job.dialect ?? "alarmcast"],
) {
  const body = dialect.publishBody(id, alarm);
  return new Promise((resolve, reject) => {
    const req = request({
      agent,
      host: url.hostname,
      port: url.port,
      method: "POST",
      path: dialect.publishPath(id),
      headers: {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        ...dialect.publishHeaders,
      },
    }, (res) => {
      const chunks = [];
      if (json) res.on("data", (c) => chunks.push(c));
      else res.resume();
      res.on("end", () => {
        if (res.statusCode !== dialect.accepted) {
          return reject(new Error(`POST answered ${res.statusCode}`));
        }
        resolve(
          json ? JSON.parse(Buffer.concat(chunks).toString()) : undefined,
        );
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

function percentiles(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

const ALARM = JSON.stringify({
  level: "critical",
  device: "boiler-7",
  message: "Pressure above limit",
  value: 12.5,
});

if (job.kind === "wide") {
  // One share of a fan-out across processes: `sockets` sockets on id `id` at `ws` (processes
  // sharing one port), spread over source addresses from `sourceOffset`. Alarms carry
  // `{"wide":n,…}` first; once every socket here has alarm n this says when (epoch ms), so the
  // runner can tell when the last socket of all got it.
  const counts = new Map();
  const sockets = [];
  const batch = 250;
  for (let start = 0; start < job.sockets; start += batch) {
    const wave = [];
    for (let i = start; i < Math.min(job.sockets, start + batch); i++) {
      const socket = new WebSocket(`${job.ws}/websocket/${job.id}`, {
        localAddress: `127.0.0.${2 + ((job.sourceOffset + i) % 250)}`,
        perMessageDeflate: false,
      });
      socket.on("message", (data) => {
        const text = data.toString("latin1", 0, 24);
        if (!text.startsWith('{"wide":')) return;
        const n = parseInt(text.slice(8), 10);
        const seen = (counts.get(n) ?? 0) + 1;
        counts.set(n, seen);
        if (seen === job.sockets) {
          emit("all", { n, at: performance.timeOrigin + performance.now() });
          counts.delete(n);
        }
      });
      socket.on("error", (error) => emit("socket_error", { message: String(error) }));
      wave.push(
        new Promise((resolve, reject) => {
          socket.once("open", resolve);
          socket.once("error", reject);
        }),
      );
      sockets.push(socket);
    }
    await Promise.all(wave);
  }
  setInterval(() => {
    for (const ws of sockets) if (ws.readyState === 1) ws.send("PING");
  }, 30_000).unref();
  emit("ready");
  await new Promise(() => {}); // held until the runner kills us
}

if (job.kind === "idle") {
  await connect(job.sockets, ["idle"], () => {});
  emit("ready");
  await new Promise(() => {}); // held until the runner kills us
}

if (job.kind === "fanout") {
  // Closed loop: POST one alarm to a random id, wait until every socket of that id got it.
  const ids = Array.from({ length: job.ids }, (_, i) => `fan-${i}`);
  let received = 0;
  const counts = new Array(job.ids * job.perId).fill(0);
  await (job.transport === "sse" ? connectStreams : connect)(
    job.ids * job.perId,
    ids,
    (i) => {
      received++;
      counts[i]++;
    },
  );
  await warmUp(ids, counts);
  emit("ready");
  received = 0;
  const latencies = [];
  let deliveries = 0;
  emit("measuring");
  const started = performance.now();
  const deadline = started + job.seconds * 1000;
  while (performance.now() < deadline) {
    const target = received + job.perId;
    const t0 = performance.now();
    await post(ids[Math.floor(Math.random() * ids.length)], ALARM);
    while (received < target) {
      await new Promise((resolve) => setImmediate(resolve));
      if (performance.now() - t0 > 10_000) {
        throw new Error("Receipts stopped arriving");
      }
    }
    latencies.push(performance.now() - t0);
    deliveries += job.perId;
  }
  const elapsed = (performance.now() - started) / 1000;
  emit("result", {
    deliveries,
    seconds: elapsed,
    alarms: latencies.length,
    ...percentiles(latencies),
  });
  process.exit(0);
}

if (job.kind === "paired") {
  // Two servers on the same sockets (`ids` × `perId` each), measured over the same window: a
  // closed loop that alternates between them, so whatever else the machine does meanwhile weighs
  // on both alike. The runner compares their CPU per alarm.
  const ids = Array.from({ length: job.ids }, (_, i) => `pair-${i}`);
  const sides = [[job.ws, job.http, job.alarm, job.dialect], [
    job.ws2,
    job.http2,
    job.alarm2,
    job.dialect2,
  ]].map((
    [ws, http, alarm, dialect],
  ) => ({
    ws,
    url: new URL(http),
    dialect: DIALECTS[dialect ?? "alarmcast"],
    latencies: [],
    // A body with "key": "*" raises one of 50 conditions per id in turn (repeats after that);
    // with "key": "+", a condition never raised before, every time.
    body: (k) =>
      alarm === undefined ? ALARM : JSON.stringify(
        alarm.key === "*"
          ? { ...alarm, key: `k-${k % 50}` }
          : alarm.key === "+"
          ? { ...alarm, key: `new-${k}` }
          : alarm,
      ),
    counts: new Array(job.ids * job.perId).fill(0),
    received: 0,
    alarms: 0,
  }));
  for (const side of sides) {
    await connect(
      job.ids * job.perId,
      ids,
      (i) => {
        side.received++;
        side.counts[i]++;
      },
      side.ws,
      side.dialect,
    );
    await warmUp(ids, side.counts, side.url, side.dialect);
  }
  // One alarm at a time, alternating sides, for `seconds`; counted only when `counted`.
  let k = 0;
  const loop = async (seconds, counted) => {
    const started = performance.now();
    for (; performance.now() - started < seconds * 1000; k++) {
      const side = sides[k % 2];
      const until = side.received + job.perId;
      const t0 = performance.now();
      // Warming, the ids go in turn: with "key": "*", every (id, key) is raised once in 2,500.
      const id = counted
        ? ids[Math.floor(Math.random() * ids.length)]
        : ids[Math.floor((k >> 1) / 50) % ids.length];
      await post(
        id,
        side.body(k >> 1),
        false,
        side.url,
        side.dialect,
      );
      while (side.received < until) {
        await new Promise((resolve) => setImmediate(resolve));
        if (performance.now() - t0 > 10_000) {
          throw new Error("Receipts stopped arriving");
        }
      }
      if (!counted) continue;
      side.latencies.push(performance.now() - t0); // POST to the last socket's receipt
      side.alarms++;
    }
    return (performance.now() - started) / 1000;
  };
  // Warm: each side's own alarms through the same loop first, so both are measured with their
  // code compiled and (for keyed alarms) their conditions raised once: the steady state.
  await loop(job.warmSeconds ?? 0, false);
  emit("measuring");
  const seconds = await loop(job.seconds, true);
  emit("result", {
    seconds,
    alarms: sides[0].alarms,
    alarms2: sides[1].alarms,
    p99: percentiles(sides[0].latencies).p99,
    p99_2: percentiles(sides[1].latencies).p99,
  });
  process.exit(0);
}

if (job.kind === "publish") {
  // Open loop at full speed: `concurrency` POSTs in flight to ids spread over `ids`.
  const latencies = [];
  emit("measuring");
  const started = performance.now();
  const deadline = started + job.seconds * 1000;
  let errors = 0;
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await post(`pub-${Math.floor(Math.random() * job.ids)}`, ALARM);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  emit("result", {
    accepted: latencies.length,
    errors,
    seconds: elapsed,
    ...percentiles(latencies),
  });
  process.exit(0);
}

if (job.kind === "soak") {
  // Open loop at `rate` alarms/s over `ids` × `perId` sockets, then every client leaves.
  const ids = Array.from({ length: job.ids }, (_, i) => `soak-${i}`);
  let received = 0;
  const counts = new Array(job.ids * job.perId).fill(0);
  // Sockets closed during the run: a closed one would miss what follows.
  const closed = [];
  let measuring = false;
  const sockets = await connect(
    job.ids * job.perId,
    ids,
    (i) => {
      received++;
      counts[i]++;
    },
    job.ws,
    DIALECTS[job.dialect ?? "alarmcast"],
    (i, code, reason) => {
      if (measuring) {
        closed.push(`socket ${i} of ${ids[i % ids.length]}: ${code} ${reason}`);
      }
    },
  );
  await warmUp(ids, counts); // every socket registered before the count starts
  received = 0;
  const before = counts.slice();
  measuring = true;
  emit("measuring");
  const started = performance.now();
  const latencies = [];
  const accepted = new Array(job.ids).fill(0); // per id
  const posts = [];
  let sent = 0;
  let errors = 0;
  while (performance.now() - started < job.seconds * 1000) {
    const due = started + (sent * 1000) / job.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent++;
    const t0 = performance.now();
    const to = sent % ids.length;
    posts.push(
      post(ids[to], ALARM).then(
        () => {
          latencies.push(performance.now() - t0);
          accepted[to]++;
        },
        () => errors++,
      ),
    );
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(posts);
  // Every accepted alarm must reach every socket of its id: give the last ones a moment.
  const expected = latencies.length * job.perId;
  for (let i = 0; i < 50 && received < expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  measuring = false;
  // Where receipts are missing: per id, how many and on how many of its sockets.
  const short = ids.flatMap((id, k) => {
    let missing = 0;
    let on = 0;
    for (let i = k; i < counts.length; i += ids.length) {
      const m = accepted[k] - (counts[i] - before[i]);
      missing += m;
      if (m !== 0) on++;
    }
    return missing === 0 ? [] : [`${id}: ${missing} on ${on} of ${job.perId} sockets`];
  });
  for (const ws of sockets) ws.close();
  emit("result", {
    deliveries: received,
    seconds: elapsed,
    alarms: sent,
    errors,
    missing: expected - received,
    where: [...short, ...closed.slice(0, 20)].join("; "),
    ...percentiles(latencies),
  });
  process.exit(0);
}

if (job.kind === "halfload") {
  // Open loop at `rate` alarms/s over `ids` × `perId` sockets. Every receipt is one sample: from
  // the alarm's POST to the moment that socket has it (receipts carry target and seq; the POST's
  // answer tells which seq it was).
  const ids = Array.from({ length: job.ids }, (_, i) => `half-${i}`);
  const counts = new Array(job.ids * job.perId).fill(0);
  const sockets = await connect(job.ids * job.perId, ids, (i) => counts[i]++);
  await warmUp(ids, counts);
  const sentAt = new Map(); // "target seq" -> when its POST went out
  const early = new Map(); // receipts that beat the POST's answer: "target seq" -> [times]
  const latencies = [];
  let measuring = false;
  const onReceipt = (data) => {
    if (!measuring) return;
    const now = performance.now();
    const { target, seq } = JSON.parse(data);
    const key = `${target} ${seq}`;
    const t0 = sentAt.get(key);
    if (t0 !== undefined) latencies.push(now - t0);
    else if (early.has(key)) early.get(key).push(now);
    else early.set(key, [now]);
  };
  for (const ws of sockets) ws.on("message", onReceipt);
  measuring = true;
  emit("measuring");
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < job.seconds * 1000) {
    const wait = started + (sent * 1000) / job.rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const id = ids[sent % ids.length];
    sent++;
    const t0 = performance.now();
    post(id, ALARM, true).then(({ seq }) => {
      const key = `${id} ${seq}`;
      sentAt.set(key, t0);
      for (const t of early.get(key) ?? []) latencies.push(t - t0);
      early.delete(key);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the last alarms arrive
  emit("result", {
    alarms: sent,
    seconds: (performance.now() - started) / 1000,
    missing: sent * job.perId - latencies.length,
    ...percentiles(latencies),
  });
  process.exit(0);
}
