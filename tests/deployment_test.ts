/**
 * The production shape the docs print, stood up from the repository's own files: a certificate
 * from the recipe in docs/behind_a_proxy.md, Debian's nginx with the shipped configuration (TLS,
 * HTTP/2, the block for old pages on their old port turned on), two alarmcast processes started
 * with the systemd unit's command and the environment file docs/security.md prints, one SQLite
 * store; clients from several loopback addresses, the console in Chromium. Runs with the browser
 * tests (Deno 2.9: a WebSocket from a chosen client address needs `Deno.HttpClient`).
 *
 * @module
 */
import { assert, assertEquals, assertLess, assertNotMatch } from "@std/assert";
import { TokenKeys } from "../lib/core/mod.ts";
import { HAVE_CHROMIUM, launch, screenshot } from "./support/browser.ts";
import { LegacyPage } from "./support/legacy_page.ts";
import { NGINX, Nginx } from "./support/nginx.ts";
import { freePort } from "./support/ports.ts";
import type { ServerProcess } from "./support/process.ts";
import {
  printedProduction,
  ROOT,
  runnableSettings,
  startUnit,
  unitSettings,
} from "./support/production.ts";
import { SseClient } from "./support/sse.ts";

/** What runnableSettings puts for each `<32+ random characters>`: the API key and token secret. */
const SECRET = "s".repeat(32);
const keys = new TokenKeys([SECRET]);
const token = (sub: string) => keys.sign(sub, Date.now() + 600_000);

/** Runs the certificate recipe of docs/behind_a_proxy.md in `dir`, as printed. */
async function certificateRecipe(dir: string): Promise<void> {
  const doc = await Deno.readTextFile(`${ROOT}docs/behind_a_proxy.md`);
  const recipe = /```sh\n(NAME=[^`]*?)```/.exec(doc)?.[1];
  assert(recipe, "no certificate recipe in docs/behind_a_proxy.md");
  const out = await new Deno.Command("sh", {
    args: ["-euc", recipe],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

/** Opens a WebSocket from `client`; whether the upgrade succeeded (closed again at once). */
async function upgrades(url: string, client: Deno.HttpClient): Promise<boolean> {
  const socket = new WebSocket(url, { client });
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
  const opened = await new Promise<boolean>((resolve) => {
    socket.onopen = () => resolve(true);
    socket.onclose = () => resolve(false);
  });
  socket.close();
  await closed;
  return opened;
}

/** The next v1 frame of `type` on `socket`; rejects if the socket closes first. */
function frame(socket: WebSocket, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onClose = (e: CloseEvent) => reject(new Error(`Closed: ${e.code} ${e.reason}`));
    const onMessage = (e: MessageEvent) => {
      const parsed = JSON.parse(e.data);
      if (parsed.type !== type) return;
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
      resolve(parsed);
    };
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
  });
}

Deno.test({
  name:
    "deployed as documented: nginx (TLS, HTTP/2) before two unit-started processes on one store, clients from several addresses",
  ignore: NGINX === undefined || !HAVE_CHROMIUM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const state = `${dir}/state`;
    await Deno.mkdir(state);
    await certificateRecipe(dir);
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);

    // Two processes as systemd starts them, with the printed settings (and their own port).
    const settings = await unitSettings();
    const { settings: printed } = await printedProduction();
    const ports = [freePort(), freePort()];
    const procs: ServerProcess[] = ports.map((port) =>
      startUnit(settings, runnableSettings(printed, state, port), state, `${dir}/cache-${port}`)
    );
    const legacyPort = freePort();
    let nginx: Nginx | undefined;
    const clients: Deno.HttpClient[] = [];
    const browser = await launch();
    try {
      await Promise.all(procs.map((proc) => proc.waitFor("listening", 20_000)));
      nginx = await Nginx.start(NGINX!, {
        upstream: ports,
        tls: { cert: `${dir}/fullchain.pem`, key: `${dir}/privkey.pem`, ca },
        legacyPort,
      });
      const client = (address: string) => {
        const made = nginx!.client(address);
        clients.push(made);
        return made;
      };
      const [a, b, c] = [client("127.0.0.2"), client("127.0.0.3"), client("127.0.0.4")];
      const wss = nginx.url.replace("https", "wss");

      // HTTP/2 to a client that offers it (curl, with the recipe's CA).
      const curl = await new Deno.Command("curl", {
        args: [
          "--cacert",
          `${dir}/ca.pem`,
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_version} %{http_code}",
          `${nginx.url}/healthz`,
        ],
        stdout: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(curl.stdout), "2 200");

      // Per-address limits count each client (TRUSTED_PROXIES and X-Forwarded-For): 127.0.0.2
      // upgrades past its budget (120 a minute per process), 127.0.0.3 is untouched by that.
      const limited = await token("*");
      let refused = 0;
      for (let i = 0; i < 260; i++) {
        if (!await upgrades(`${wss}/websocket/lim-${i}?token=${limited}`, a)) refused++;
      }
      // Two processes, round robin: about 2 x 120 pass, the rest are refused.
      assert(refused >= 10 && refused <= 60, `${refused} of 260 upgrades from one address refused`);
      for (let i = 0; i < 10; i++) {
        assert(await upgrades(`${wss}/websocket/other-${i}?token=${limited}`, b), `other ${i}`);
      }
      const blamed = procs.flatMap((proc) =>
        proc.records().filter((r) => r.msg === "upgrade refused").map((r) => r.address)
      );
      assert(blamed.length > 0 && blamed.every((address) => address === "127.0.0.2"), `${blamed}`);

      // A publish through nginx reaches a socket held by the other process. (127.0.0.2 has
      // used its upgrades for the minute: 127.0.0.3 holds it.)
      const socket = new WebSocket(`${wss}/websocket/plant-3`, {
        protocols: ["alarms.v1", `token.${await token("plant-3")}`],
        client: b,
      });
      const welcome = await frame(socket, "welcome");
      const publish = (id: string, body: unknown, from = c) =>
        fetch(`${nginx!.url}/api/alarms/${id}`, {
          client: from,
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${SECRET}` },
          body: JSON.stringify(body),
        });
      const servedBy = new Set<string | null>();
      for (let n = 1; n <= 2; n++) {
        const alarm = frame(socket, "alarm");
        const res = await publish("plant-3", { n });
        await res.body?.cancel();
        assertEquals(res.status, 202);
        servedBy.add(res.headers.get("x-served-by"));
        assertEquals(((await alarm).alarm as { n: number }).n, n);
      }
      assert([...servedBy].some((by) => by !== welcome.instance), "both publishes by one process");
      socket.close();

      // The old page's code at the URLs behind_a_proxy.md gives: wss:// with its token, and the
      // old port through the migration block. (nginx logs an upgrade when it ends.)
      {
        await using page = new LegacyPage(wss, [`old?token=${await token("old")}`], 30_000, b);
        await using oldPort = new LegacyPage(
          `ws://127.0.0.1:${legacyPort}`,
          [`old?token=${await token("old")}`],
          30_000,
        );
        await Promise.all([page.opened(), oldPort.opened()]);
        await (await publish("old", { level: "high", message: "to old pages" })).body?.cancel();
        await page.until(() => page.list.length === 1);
        await oldPort.until(() => oldPort.list.length === 1);
        assertEquals([page.list[0]!.message, oldPort.problems, page.problems], [
          "to old pages",
          [],
          [],
        ]);
      }

      // An event stream passes unbuffered: the alarm arrives while the response is open.
      {
        await using stream = await SseClient.open(
          `${nginx.url}/events/stream?token=${await token("stream")}`,
          {},
          b,
        );
        assertEquals(stream.response.status, 200);
        const started = Date.now();
        await (await publish("stream", { via: "nginx" })).body?.cancel();
        assertEquals((await stream.nextAlarm()).alarm.via, "nginx");
        assertLess(Date.now() - started, 2000);
      }

      // The console in Chromium, with ALLOWED_ORIGINS set as documented: reached by address, its
      // own origin is recognised, so it stays on WebSocket.
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const tab = await context.newPage();
      await tab.goto(`${nginx.url}/?id=console-3&token=${await token("console-3")}`);
      await tab.waitForSelector(
        '#connections li[data-id="console-3"].status-online[data-transport="websocket"]',
        { timeout: 15_000 },
      );
      await (await publish("console-3", { message: "in the console", level: "critical" }))
        .body?.cancel();
      await tab.waitForSelector('#alarms li .text:text("in the console")', { timeout: 5000 });
      await screenshot(tab, "deployment-console", false);

      // One process stops (a rolling restart): publishes while it drains and after it is gone
      // go to the other, none gets a 502 or the stopping process's 503.
      procs[0]!.child.kill("SIGTERM");
      let stopped = false;
      void procs[0]!.status.then(() => (stopped = true));
      const statuses = new Set<number>();
      for (let n = 0; !stopped || n < 10; n++) {
        const res = await publish("restart", { n });
        await res.body?.cancel();
        statuses.add(res.status);
      }
      assertEquals([...statuses], [202]);
      assertEquals((await procs[0]!.status).code, 0);

      // nginx logged every client by its address and no token.
      const log = await Deno.readTextFile(nginx.accessLog);
      for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.1"]) {
        assert(log.includes(`${address} [`), `no request from ${address} in the access log`);
      }
      assertNotMatch(log, /token|eyJ/);
      assert(
        log.includes('"GET /websocket/old HTTP/1.1" 101'),
        "no upgrade of the old page logged",
      );
    } finally {
      await browser.close();
      for (const made of clients) made.close();
      await nginx?.[Symbol.asyncDispose]();
      for (const proc of procs) {
        try {
          proc.child.kill("SIGTERM");
        } catch {
          // stopped by the test already
        }
      }
      const codes = await Promise.all(procs.map(async (proc) => (await proc.status).code));
      await Deno.remove(dir, { recursive: true });
      assertEquals(codes, [0, 0]);
    }
  },
});
