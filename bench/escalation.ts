/**
 * How late escalations come after their deadline, measured on real processes (`main.ts`, a
 * SQLite store, default settings): a policy escalates every alarm of `plant-*` to `lead` after
 * 5 s; a client of `lead` stamps each escalation alarm as it arrives; lateness is arrival minus
 * the step's deadline (`escalation.deadline`). Two cases: the process that wrote the deadline
 * escalates it (its own timer), and a second process escalates deadlines whose writer was killed
 * with SIGKILL (found by its periodic scan, `ESCALATION_SCAN_MS`, 1 s by default).
 *
 * Run with `deno run -A bench/escalation.ts [--alarms 300]`; prints a Markdown table for
 * docs/performance.md. A benchmark, never a test.
 *
 * @module
 */
import { ServerProcess } from "../tests/support/process.ts";

const args = Deno.args;
const ALARMS = Number(args[args.indexOf("--alarms") + 1] || 300);
const IDS = 30;
const ACK_WITHIN_SECONDS = 5;

interface Result {
  name: string;
  late: number[];
}

async function send(
  port: number,
  method: string,
  path: string,
  body: unknown,
): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
}

/** Collects the lateness of each escalation `lead` receives on `port`, until `n` arrived. */
function listen(
  port: number,
  n: number,
): { opened: Promise<void>; done: Promise<number[]> } {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/websocket/lead`);
  const late: number[] = [];
  const opened = new Promise<void>((resolve) => socket.onopen = () => resolve());
  const done = new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${late.length} of ${n} arrived`)),
      60_000,
    );
    socket.onmessage = (e) => {
      const at = Date.now();
      const alarm = JSON.parse(e.data);
      late.push(at - Date.parse(alarm.escalation.deadline));
      if (late.length === n) {
        clearTimeout(timer);
        socket.close();
        resolve(late);
      }
    };
  });
  return { opened, done };
}

async function publishAll(port: number): Promise<void> {
  // Spread over ~3 s, so deadlines are spread too and each is its own event.
  for (let i = 0; i < ALARMS; i++) {
    await send(port, "POST", `/api/alarms/plant-${i % IDS}`, {
      level: "critical",
      i,
    });
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 100));
  }
}

const POLICY = {
  match: { prefixes: ["plant-"] },
  ackWithinSeconds: ACK_WITHIN_SECONDS,
  escalateTo: ["lead"],
};

async function sameProcess(dir: string): Promise<Result> {
  await using proc = new ServerProcess({ KV_PATH: `${dir}/same.sqlite3` });
  const port = await proc.port();
  await send(port, "PUT", "/api/policies/all", POLICY);
  const lead = listen(port, ALARMS);
  await lead.opened;
  await publishAll(port);
  return {
    name: "deadline written by the escalating process",
    late: await lead.done,
  };
}

async function afterSigkill(dir: string): Promise<Result> {
  const env = { KV_PATH: `${dir}/killed.sqlite3` };
  await using writer = new ServerProcess(env);
  await using survivor = new ServerProcess(env);
  const [a, b] = [await writer.port(), await survivor.port()];
  await send(a, "PUT", "/api/policies/all", POLICY);
  await send(b, "PUT", "/api/policies/all", POLICY);
  const lead = listen(b, ALARMS);
  await lead.opened;
  // Published through the writer only, which is killed before the first deadline.
  const started = Date.now();
  await publishAll(a);
  if (Date.now() - started >= ACK_WITHIN_SECONDS * 1000) {
    throw new Error(
      "Publishing took longer than the deadline: use fewer --alarms",
    );
  }
  writer.child.kill("SIGKILL");
  return {
    name: "writer killed (SIGKILL), another process escalates",
    late: await lead.done,
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const dir = await Deno.makeTempDir();
try {
  const results = [await sameProcess(dir), await afterSigkill(dir)];
  const lines = [
    `| case | escalations | median | p90 | p99 | max |`,
    `| ---- | ----------- | ------ | --- | --- | --- |`,
  ];
  for (const { name, late } of results) {
    const s = late.toSorted((x, y) => x - y);
    const ms = (v: number) => `${v} ms`;
    lines.push(
      `| ${name} | ${s.length} | ${ms(quantile(s, 0.5))} | ${ms(quantile(s, 0.9))} | ${
        ms(quantile(s, 0.99))
      } | ${ms(s.at(-1)!)} |`,
    );
  }
  Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
} finally {
  await Deno.remove(dir, { recursive: true });
}
