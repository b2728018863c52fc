import { assert, assertEquals, assertLess } from "@std/assert";
import type { Page } from "npm:playwright-core@1.65.1";
import { HAVE_CHROMIUM, launch, screenshot } from "./support/browser.ts";
import { ServerProcess } from "./support/process.ts";
import { startServer } from "./support/server.ts";
import { NoUpgradeProxy } from "./support/no_upgrade_proxy.ts";

/** Just enough of the page's `document` for the checks here (tests compile without the DOM lib). */
type Doc = {
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): { textContent: string | null } | null;
};

/** Waits until `selector` matches `n` elements (at least `n` with `atLeast`). */
function count(page: Page, selector: string, n: number, atLeast = false) {
  return page.waitForFunction(({ selector, n, atLeast }) => {
    const found =
      (globalThis as unknown as { document: Doc }).document.querySelectorAll(selector).length;
    return atLeast ? found >= n : found === n;
  }, { selector, n, atLeast });
}

/** Waits until the first element of `selector` has the text `text`. */
function text(page: Page, selector: string, text: string, timeout = 5000) {
  return page.waitForFunction(
    ({ selector, text }) =>
      (globalThis as unknown as { document: Doc }).document.querySelector(selector)?.textContent ===
        text,
    { selector, text },
    { timeout },
  );
}

const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, ignore: !HAVE_CHROMIUM, sanitizeOps: false, sanitizeResources: false });

/** The rows of the console's list, top to bottom. */
function rows(page: Page) {
  return page.$$eval("#alarms li", (items) =>
    items.map((li) => ({
      target: li.getAttribute("data-target"),
      seq: Number(li.getAttribute("data-seq")),
      text: li.querySelector(".text")?.textContent,
      level: li.querySelector(".level")?.textContent,
      tone: li.className,
    })));
}

browserTest(
  "console: connects from the URL, shows an alarm within a second, newest first",
  async () => {
    // The real clock: alarms stamped by the server are the newest.
    await using server = await startServer({ now: Date.now });
    // History the console replays on connect, with createTimes out of publish order.
    await server.post("/api/alarms/b", {
      message: "older",
      level: "minor",
      createTime: "2026-01-01T08:00:00Z",
    });
    await server.post("/api/alarms/a", {
      message: "newer",
      level: "major",
      createTime: "2026-01-01T09:00:00Z",
    });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.http}/?id=a&id=b`);
      await page.waitForSelector('#connections li[data-id="a"].status-online');
      await page.waitForSelector('#connections li[data-id="b"].status-online');
      await count(page, "#alarms li", 2);

      const started = Date.now();
      await server.post("/api/alarms/a", {
        message: "live one",
        severity: "critical",
        createTime: "2026-01-01T10:00:00Z",
      });
      await text(page, "#alarms li .text", "live one");
      assertLess(Date.now() - started, 1000);

      const list = await rows(page);
      assertEquals(list.map((r) => r.text), ["live one", "newer", "older"]);
      assertEquals(list.map((r) => r.level), ["critical", "major", "minor"]);
      assert(list[0]!.tone.includes("tone-crit") && list[1]!.tone.includes("tone-warn"));

      // Filter by id, then by level.
      await page.selectOption("#filter-id", "b");
      assertEquals((await rows(page)).map((r) => r.text), ["older"]);
      await page.selectOption("#filter-id", "");
      await page.selectOption("#filter-level", "critical");
      assertEquals((await rows(page)).map((r) => r.text), ["live one"]);
      await page.selectOption("#filter-level", "");

      // Acknowledge the newest alarm of "a" (seq 2): the server records it.
      await page.click('#alarms li[data-target="a"][data-seq="2"] .ack');
      await page.waitForSelector('#alarms li[data-target="a"][data-seq="2"] .ack:disabled');
      await waitForAck(server.http, "a", 2);

      // Publish from the console's form.
      await page.click("#publish-panel summary");
      await page.fill('#publish input[name="key"]', "any-key-works-when-open");
      await page.fill('#publish input[name="id"]', "b");
      await page.fill('#publish input[name="message"]', "from the form");
      await page.click("#publish button");
      await text(page, "#alarms li .text", "from the form");
      assertEquals(await page.isVisible("#more"), false); // four alarms fit on one page
      await screenshot(page, "console");
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, "console-phone");
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

async function waitForAck(http: string, id: string, seq: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const body = await (await fetch(`${http}/api/sessions/${id}`)).json();
    if (body.acked === seq) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Ack ${seq} of ${id} never recorded`);
}

browserTest(
  "console: stays fast with thousands of alarms, rendering one page of them",
  async () => {
    await using server = await startServer({ retention: { count: 5000, ageMs: 3_600_000 } });
    for (let i = 0; i < 3000; i++) {
      await server.post("/api/alarms/many", {
        message: `alarm ${i}`,
        level: ["critical", "minor"][i % 2],
      });
    }
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const started = Date.now();
      await page.goto(`${server.http}/?id=many`);
      await text(page, "#count", "3000 of 3000 alarms", 10_000);
      const loaded = Date.now() - started;
      assertEquals(await page.$$eval("#alarms li", (items) => items.length), 200);
      assertEquals((await rows(page))[0]!.text, "alarm 2999");
      // Filtering the whole list and showing more are quick.
      const t0 = Date.now();
      await page.selectOption("#filter-level", "minor");
      await page.click("#more");
      assertEquals(await page.$$eval("#alarms li", (items) => items.length), 400);
      assertLess(Date.now() - t0, 1000);
      assertLess(loaded, 10_000);
      await screenshot(page, "console-thousands", false);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: survives a server restart and shows what was published meanwhile, once, in order",
  async () => {
    const dir = await Deno.makeTempDir();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const env = { PORT: String(port), KV_PATH: `${dir}/kv.sqlite3` };
    const http = `http://127.0.0.1:${port}`;
    const post = (n: number) =>
      fetch(`${http}/api/alarms/r`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: `n${n}` }),
      })
        .then((res) => res.json());
    const browser = await launch();
    try {
      let server = new ServerProcess(env);
      await server.port();
      const page = await browser.newPage();
      await page.goto(`${http}/?id=r`);
      await page.waitForSelector('#connections li[data-id="r"].status-online');
      await post(1);
      await post(2);
      await count(page, "#alarms li", 2);

      server.child.kill("SIGTERM");
      await server.status;
      await page.waitForSelector('#connections li[data-id="r"].status-reconnecting');
      server = new ServerProcess(env);
      await server.port();
      const wasAway = await page.$eval(
        '#connections li[data-id="r"]',
        (li) => !li.className.includes("online"),
      );
      for (let n = 3; n <= 5; n++) await post(n);
      await page.waitForSelector('#connections li[data-id="r"].status-online', { timeout: 15_000 });
      await count(page, "#alarms li", 5, true);
      const list = await rows(page);
      assertEquals(list.map((r) => r.seq), [5, 4, 3, 2, 1]);
      assertEquals(list.map((r) => r.text), ["n5", "n4", "n3", "n2", "n1"]);
      assert(wasAway, "the alarms were published while the console was still away");
      await screenshot(page, "console-after-restart");
      await server[Symbol.asyncDispose]();
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

browserTest(
  "the old page, unchanged, receives alarms in Chromium and never fails to parse a frame",
  async () => {
    await using server = await startServer();
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.http}/healthz`); // any page of the origin
      await page.evaluate((ws) => {
        // What the old Vue page does, minus Vue: several ids, PING on a timer, JSON.parse of every frame.
        const w = globalThis as unknown as { list: unknown[]; errors: string[]; opened: number };
        w.list = [];
        w.errors = [];
        w.opened = 0;
        for (const id of ["1", "2"]) {
          const socket = new WebSocket(`${ws}/websocket/${id}`);
          socket.onopen = () => w.opened++;
          socket.onmessage = (e) => {
            try {
              w.list.push(JSON.parse(e.data));
              w.list.sort((a, b) =>
                Date.parse((b as { createTime: string }).createTime) -
                Date.parse((a as { createTime: string }).createTime)
              );
            } catch (error) {
              w.errors.push(String(error));
            }
          };
          setInterval(() => socket.readyState === 1 && socket.send("PING"), 50);
        }
      }, server.ws);
      await page.waitForFunction(() => (globalThis as unknown as { opened: number }).opened === 2);
      await page.waitForTimeout(200); // let a few PINGs go out; nothing may come back for them
      await server.post("/api/alarms/1", { msg: "one", createTime: "2026-01-01T10:00:00Z" });
      await server.post("/api/alarms/2", { msg: "two", createTime: "2026-01-01T11:00:00Z" });
      await page.waitForFunction(() =>
        (globalThis as unknown as { list: unknown[] }).list.length === 2
      );
      const result = await page.evaluate(() => {
        const w = globalThis as unknown as {
          list: { msg: string; seq: number }[];
          errors: string[];
        };
        return { list: w.list, errors: w.errors };
      });
      assertEquals(result.errors, []);
      assertEquals(result.list.map((a) => a.msg), ["two", "one"]);
      assert(server.app.metrics.framesIn >= 4);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: behind a proxy that refuses WebSockets it runs on SSE, live and without losing what came while it was away",
  async () => {
    await using server = await startServer({ now: Date.now });
    await using proxy = new NoUpgradeProxy(server.http);
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${proxy.url}/?id=blocked`);
      await page.waitForSelector(
        '#connections li[data-id="blocked"].status-online[data-transport="sse"]',
        { timeout: 15_000 },
      );
      await text(page, '#connections li[data-id="blocked"]', "blocked: online (SSE)");
      assert(proxy.refused >= 2);

      const started = Date.now();
      await server.post("/api/alarms/blocked", {
        message: "through the stream",
        level: "critical",
      });
      await text(page, "#alarms li .text", "through the stream");
      assertLess(Date.now() - started, 1000);
      await page.click('#alarms li[data-seq="1"] .ack');
      await waitForAck(server.http, "blocked", 1);

      // The path drops (the server restarts the stream, then the proxy is unreachable); three
      // alarms arrive meanwhile; once it is back they show, each once, newest first.
      proxy.down = true;
      server.app.hub.closeAll(1012, "service restart");
      await page.waitForSelector('#connections li[data-id="blocked"]:not(.status-online)');
      for (const n of [1, 2, 3]) {
        await server.post("/api/alarms/blocked", { message: `while away ${n}` });
      }
      proxy.down = false;
      await count(page, "#alarms li", 4);
      const list = await rows(page);
      assertEquals(list.map((r) => r.seq), [4, 3, 2, 1]);
      assertEquals(list.map((r) => r.text), [
        "while away 3",
        "while away 2",
        "while away 1",
        "through the stream",
      ]);
      await page.waitForSelector('#connections li[data-id="blocked"].status-online');
      await screenshot(page, "console-sse");
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: alarms past their deadline show as overdue, then escalated; acking clears them",
  async () => {
    await using server = await startServer({ now: Date.now });
    await server.app.start(); // the escalation scheduler
    const put = (name: string, policy: unknown) =>
      fetch(`${server.http}/api/policies/${name}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(policy),
      }).then((res) => res.body?.cancel());
    // plant-3 escalates to the lead this console watches; plant-4 to one it doesn't.
    await put("boilers", {
      match: { ids: ["plant-3"] },
      ackWithinSeconds: 1,
      escalateTo: ["lead"],
    });
    await put("pumps", { match: { ids: ["plant-4"] }, ackWithinSeconds: 1, escalateTo: ["night"] });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.http}/?id=plant-3&id=plant-4&id=lead`);
      for (const id of ["plant-3", "plant-4", "lead"]) {
        await page.waitForSelector(`#connections li[data-id="${id}"].status-online`);
      }
      await server.post("/api/alarms/plant-3", { level: "critical", message: "Pressure high" });
      await server.post("/api/alarms/plant-4", { level: "critical", message: "Pump stalled" });
      const p3 = '#alarms li[data-target="plant-3"][data-seq="1"]';
      const p4 = '#alarms li[data-target="plant-4"][data-seq="1"]';
      await count(page, "#alarms li", 2);
      assertEquals(
        await page.$$eval("#alarms li.overdue, #alarms li.escalated", (l) => l.length),
        0,
      );

      // Past the deadline: plant-4 turns overdue by itself; plant-3's escalation reaches the lead.
      await page.waitForSelector(`${p4}.overdue`);
      await page.waitForSelector(`${p3}.escalated`);
      const escalation = '#alarms li.escalation[data-target="lead"]';
      await page.waitForSelector(escalation);
      assertEquals(
        await page.textContent(`${escalation} .state`),
        "Escalation of plant-3 #1",
      );
      assertEquals(await page.textContent(`${p3} .state`), "Escalated");
      assertEquals(await page.textContent(`${p4} .state`), "Overdue");
      await text(page, "#overdue", "2 overdue");
      await screenshot(page, "console-escalation", false);

      // Acking plant-4 clears it; acking the escalation acks the lead's alarm and plant-3's.
      await page.click(`${p4} .ack`);
      await page.waitForSelector(`${p4}:not(.overdue) .ack:disabled`);
      await page.click(`${escalation} .ack`);
      await page.waitForSelector(`${p3}:not(.escalated) .ack:disabled`);
      await page.waitForSelector("#overdue", { state: "hidden" });
      await waitForAck(server.http, "plant-3", 1);
      await waitForAck(server.http, "lead", 1);
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);
