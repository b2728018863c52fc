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

      // Acknowledge the newest alarm of "a" (seq 2): the server records it, and another
      // operator's console shows it acknowledged, live and after a reload.
      const other = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await other.goto(`${server.http}/?id=a`);
      await other.waitForSelector('#connections li[data-id="a"].status-online');
      const newest = '#alarms li[data-target="a"][data-seq="2"] .ack';
      await text(other, newest, "Ack");
      await page.click(newest);
      await page.waitForSelector(`${newest}:disabled`);
      await waitForAck(server.http, "a", 2);
      await text(other, newest, "Acked");
      await other.reload();
      await text(other, newest, "Acked");
      await other.close();

      // Publish from the console's form.
      await page.click("#publish-panel summary");
      await page.fill('#publish input[name="key"]', "any-key-works-when-open");
      await page.fill('#publish input[name="id"]', "b");
      await page.fill('#publish input[name="message"]', "from the form");
      await page.click("#publish button");
      await text(page, "#alarms li .text", "from the form");
      assertEquals(await page.isVisible("#more"), false); // four alarms fit on one page

      // A problem stays until dismissed, and leaves the connections as they were.
      await page.fill('#connect input[name="ids"]', ",");
      await page.click("#connect button");
      await text(page, "#problem-text", "Enter at least one id");
      assert(await page.isVisible("#problem"));
      await page.click('#problem-dismiss[aria-label="Dismiss"]');
      await page.waitForSelector("#problem", { state: "hidden" });
      await page.waitForSelector('#connections li[data-id="a"].status-online');
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
    // plant-3 escalates to the lead this console watches; plant-4 to one it doesn't. Three
    // seconds, so the rows are surely seen before their deadline on a loaded machine.
    await put("boilers", {
      match: { ids: ["plant-3"] },
      ackWithinSeconds: 3,
      escalateTo: ["lead"],
    });
    await put("pumps", { match: { ids: ["plant-4"] }, ackWithinSeconds: 3, escalateTo: ["night"] });
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

/** The condition rows of `list` (`#conditions` or `#shelved`), top to bottom. */
function conditionRows(page: Page, list = "#conditions") {
  return page.$$eval(`${list} > li.condition`, (items) =>
    items.map((li) => ({
      target: li.getAttribute("data-target"),
      key: li.getAttribute("data-key"),
      state: li.getAttribute("data-state"),
      label: li.querySelector(".state-text")?.textContent,
      count: li.querySelector(".count")?.textContent,
      text: li.querySelector(".text")?.textContent,
      unacked: li.classList.contains("unacked"),
    })));
}

/** The history entries open under `row`, newest first. */
function historyOf(page: Page, row: string) {
  return page.$$eval(`${row} .history-entry`, (items) =>
    items.map((li) => ({
      action: li.getAttribute("data-action"),
      label: li.querySelector(".history-action")?.textContent,
      by: li.querySelector(".history-by")?.textContent,
      details: li.querySelector(".history-details")?.textContent,
    })));
}

/** `key` in a condition's path. */
const enc = encodeURIComponent;

browserTest(
  "console: one row per condition: a repeat counts, the console acknowledges, a clear removes it; cleared first, it waits for its acknowledgement",
  async () => {
    await using server = await startServer();
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.http}/?id=plant-3&id=plant-4`);
      for (const id of ["plant-3", "plant-4"]) {
        await page.waitForSelector(`#connections li[data-id="${id}"].status-online`);
      }
      // Without conditions the console is the list it always was.
      await server.post("/api/alarms/plant-3", { level: "info", message: "Shift started" });
      await count(page, "#alarms li", 1);
      assertEquals(await page.isVisible("#views"), false);

      const key = "boiler-7/pressure-high";
      const row = `#conditions > li.condition[data-target="plant-3"][data-key="${key}"]`;
      await server.post("/api/alarms/plant-3", {
        key,
        level: "critical",
        message: "Pressure above limit",
      });
      await page.waitForSelector(row);
      // The first condition turns the console to current alarms.
      assertEquals(await page.isVisible("#conditions-view"), true);
      assertEquals(await page.isVisible("#alarms-view"), false);
      // Rows are rebuilt on every change; a keyboard user's focus stays on their button.
      await page.focus(`${row} .shelve`);
      await server.post("/api/alarms/plant-3", {
        key,
        level: "critical",
        message: "Pressure still above limit",
      });
      await text(page, `${row} .count`, "×2");
      assertEquals(
        await page.evaluate(() =>
          (globalThis as unknown as {
            document: { activeElement: { getAttribute(name: string): string | null } | null };
          }).document.activeElement?.getAttribute("data-focus")
        ),
        `plant-3\n${key}\nshelve`,
      );
      assertEquals(await conditionRows(page), [{
        target: "plant-3",
        key,
        state: "active-unacknowledged",
        label: "Unacknowledged",
        count: "×2",
        text: "Pressure still above limit",
        unacked: true,
      }]);
      assertEquals(await page.textContent("#tab-conditions"), "Current alarms (1)");
      // The repeat is no row of the other list either: that one holds the keyless alarm only.
      assertEquals(await page.textContent("#tab-alarms"), "Other alarms (1)");

      // Two more, for the picture: one acknowledged, one back to normal before anyone saw it.
      await server.post("/api/alarms/plant-3", {
        key: "tank-1/level",
        level: "major",
        message: "Level low",
      });
      await server.post(`/api/conditions/plant-3/${enc("tank-1/level")}/acknowledge`, {
        by: "li.wei",
        comment: "Refilling",
      });
      await server.post("/api/alarms/plant-4", {
        key: "pump-2",
        level: "minor",
        message: "Pump stalled",
      });
      await server.post("/api/conditions/plant-4/pump-2/clear", {});
      const pump = '#conditions > li.condition[data-target="plant-4"][data-key="pump-2"]';
      await page.waitForSelector(`${pump}[data-state="cleared-unacknowledged"]`);
      assertEquals(
        await page.textContent(`${pump} .state-text`),
        "Returned to normal — awaiting acknowledgement",
      );
      const tank = '#conditions > li.condition[data-key="tank-1/level"]';
      await page.waitForSelector(`${tank}[data-state="active-acknowledged"]`);
      assert((await page.textContent(`${tank} .note`))!.startsWith("Acknowledged by li.wei at "));
      // Unacknowledged rows first (the fake clock stamps every raise at the same time).
      const order = await conditionRows(page);
      assertEquals(order.map((r) => r.unacked), [true, true, false]);
      assertEquals(order[2]!.key, "tank-1/level");

      // Filters: by state, by level, by id.
      await page.selectOption("#filter-state", "cleared-unacknowledged");
      assertEquals((await conditionRows(page)).map((r) => r.key), ["pump-2"]);
      await page.selectOption("#filter-state", "");
      await page.selectOption("#filter-level", "critical");
      assertEquals((await conditionRows(page)).map((r) => r.key), [key]);
      await page.selectOption("#filter-level", "");
      await page.selectOption("#filter-id", "plant-4");
      assertEquals((await conditionRows(page)).map((r) => r.key), ["pump-2"]);
      await page.selectOption("#filter-id", "");

      // Acknowledge from the console: the server records it, the row says who.
      await page.click(`${row} .acknowledge`);
      await page.waitForSelector(`${row}[data-state="active-acknowledged"]`);
      assertEquals(await page.textContent(`${row} .state-text`), "Acknowledged");
      assertEquals(
        (await server.get(`/api/conditions/plant-3/${enc(key)}`)).body.state,
        "active-acknowledged",
      );
      // Its history, as this console saw it: two raises, then the acknowledgement.
      await page.click(`${row} .history-toggle`);
      await page.waitForSelector(`${row} .history-entry`);
      assertEquals(await page.getAttribute(`${row} .history-toggle`, "aria-expanded"), "true");
      assertEquals(await historyOf(page, row), [
        { action: "acknowledge", label: "Acknowledged", by: "anonymous", details: "" },
        {
          action: "raise",
          label: "Raised",
          by: "publisher",
          details: "critical · Pressure still above limit",
        },
        {
          action: "raise",
          label: "Raised",
          by: "publisher",
          details: "critical · Pressure above limit",
        },
      ]);
      await screenshot(page, "console-conditions");
      // On a desktop too, no cell of a row is squeezed: none overflows into its neighbour.
      const squeezed = await page.$$eval(
        "#conditions > li.condition :is(.badge, .level, .where, .actions)",
        (cells) => cells.filter((c) => c.scrollWidth > c.clientWidth + 1).length,
      );
      assertEquals(squeezed, 0);

      // The publisher clears it: acknowledged already, it leaves the list.
      await server.post(`/api/conditions/plant-3/${enc(key)}/clear`, {});
      await page.waitForSelector(row, { state: "detached" });

      // On a phone: no sideways scrolling, and the buttons work.
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, "console-conditions-phone");
      assertLess(
        await page.evaluate(() =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
            .document.documentElement.scrollWidth
        ),
        391,
      );
      // Acknowledged with a comment, from the dialog: only the comment is asked for.
      await page.click(`${pump} .acknowledge-comment`);
      assertEquals(await page.textContent("#shelve-title"), "Acknowledge pump-2");
      assertEquals(await page.isVisible("#shelve-reason"), false);
      await page.fill("#action-comment", "Checked on site: valve stuck");
      await page.click("#shelve-submit");
      await page.waitForSelector(pump, { state: "detached" });
      assertEquals(await page.isVisible("#shelve-dialog"), false);
      assertEquals((await conditionRows(page)).map((r) => r.key), ["tank-1/level"]);
      const acked = (await server.get("/api/conditions/plant-4/pump-2")).body;
      assertEquals(acked.state, "normal");
      assertEquals(
        acked.history.at(-1).transition,
        {
          action: "acknowledge",
          key: "pump-2",
          by: "anonymous",
          at: acked.history.at(-1).transition.at,
          comment: "Checked on site: valve stuck",
        },
      );
      // The other list is a tab away.
      await page.click("#tab-alarms");
      await text(page, "#alarms li .text", "Shift started");
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: a shelve limit under every offered duration is itself offered",
  async () => {
    await using server = await startServer({ now: Date.now, config: { maxShelveSeconds: 600 } });
    await server.post("/api/alarms/short", { key: "k", level: "minor", message: "m" });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await page.goto(`${server.http}/?id=short`);
      const active = '#conditions > li.condition[data-key="k"]';
      await page.waitForSelector(active);
      await page.click(`${active} .shelve`);
      await page.waitForSelector('#shelve-duration option[value="600"]', { state: "attached" });
      assertEquals(await page.inputValue("#shelve-duration"), "600");
      assertEquals(
        await page.textContent('#shelve-duration option[value="600"]'),
        "10 min (the most the server allows)",
      );
      await page.fill("#shelve-reason", "Short test");
      await page.click("#shelve-submit");
      await page.waitForSelector('#shelved > li.condition[data-key="k"]');
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: shelving from its dialog (a reason, a duration the server allows), the shelved list, unshelving; a shelving ends by itself; a refusal shows in the dialog",
  async () => {
    await using server = await startServer({ now: Date.now, config: { maxShelveSeconds: 3600 } });
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.http}/?id=plant-3`);
      await page.waitForSelector('#connections li[data-id="plant-3"].status-online');
      const key = "tank-1/level-low";
      const path = `/api/conditions/plant-3/${enc(key)}`;
      await server.post("/api/alarms/plant-3", { key, level: "critical", message: "Level low" });
      const active = `#conditions > li.condition[data-key="${key}"]`;
      const shelved = `#shelved > li.condition[data-key="${key}"]`;
      await page.waitForSelector(active);

      await page.click(`${active} .shelve`);
      await page.waitForSelector("#shelve-dialog[open]");
      assertEquals(await page.textContent("#shelve-title"), `Shelve ${key}`);
      // The server allows an hour here: eight is offered, but disabled.
      await page.waitForSelector('#shelve-duration option[value="28800"]:disabled', {
        state: "attached",
      });
      assertEquals(
        await page.$$eval(
          "#shelve-duration option",
          (options) => options.map((o) => [o.getAttribute("value"), o.textContent, o.disabled]),
        ),
        [
          ["900", "15 min", false],
          ["3600", "1 h", false],
          ["28800", "8 h (longer than the server allows)", true],
        ],
      );
      // No reason, no shelving; spaces are no reason either, and the field says so.
      await page.click("#shelve-submit");
      assertEquals(await page.isVisible("#shelve-dialog"), true);
      assertEquals(await page.$$eval(shelved, (l) => l.length), 0);
      await page.fill("#shelve-reason", "   ");
      await page.click("#shelve-submit");
      assertEquals(
        await page.$eval(
          "#shelve-reason",
          (input) => (input as unknown as { validationMessage: string }).validationMessage,
        ),
        "Say why: a reason is required",
      );
      assertEquals(await page.$$eval(shelved, (l) => l.length), 0);
      await page.fill("#shelve-reason", "Sensor replaced, recalibrating");
      await page.selectOption("#shelve-duration", "900");
      await page.check("#shelve-until-cleared");
      await page.fill("#action-comment", "Ticket 4711");
      await page.click("#shelve-submit");
      await page.waitForSelector("#shelve-dialog", { state: "hidden" });
      await page.waitForSelector(shelved);
      assertEquals(await page.$$eval(active, (l) => l.length), 0);
      await text(page, "#shelved-heading", "Shelved (1)");
      await text(page, "#tab-conditions", "Current alarms (0)");
      assertEquals(
        await page.textContent(`${shelved} .shelved-reason`),
        "Sensor replaced, recalibrating",
      );
      assertEquals(await page.textContent(`${shelved} .shelved-by`), "anonymous");
      const { body } = await server.get(path);
      assertEquals(body.shelved.reason, "Sensor replaced, recalibrating");
      assertLess(Math.abs(body.shelved.until - body.shelved.at - 900_000), 1000);
      assertEquals(body.shelved.untilCleared, true);
      assertEquals(body.history.at(-1).transition.comment, "Ticket 4711");
      assertEquals(
        await page.getAttribute(`${shelved} .shelved-until time`, "datetime"),
        new Date(body.shelved.until).toISOString(),
      );

      // Unshelved before its time: back in the list.
      await page.click(`${shelved} .unshelve`);
      await page.waitForSelector(active);
      await page.waitForSelector("#shelved-section", { state: "hidden" });

      // Someone else shelves it while the dialog is open: the console's shelve is refused, and
      // the dialog says why.
      await page.click(`${active} .shelve`);
      await page.fill("#shelve-reason", "Maintenance");
      const api = await server.post(`${path}/shelve`, { reason: "By the API", durationSeconds: 2 });
      assertEquals(api.status, 200);
      await page.waitForSelector(shelved);
      await page.click("#shelve-submit");
      await text(page, "#shelve-error", "Already shelved");
      await page.click("#shelve-cancel");
      await page.waitForSelector("#shelve-dialog", { state: "hidden" });

      // The API's two seconds of shelving end by themselves: the server pushes the expiry.
      await page.waitForSelector(active, { timeout: 5000 });
      await page.click(`${active} .history-toggle`);
      await page.waitForSelector(`${active} .history-entry`);
      const history = await historyOf(page, active);
      assertEquals(history.map((e) => e.action), [
        "expire",
        "shelve",
        "unshelve",
        "shelve",
        "raise",
      ]);
      assertEquals(history[0]!.by, "system");
      assertEquals(history[0]!.label, "Shelving ended");
      assert(history[1]!.details!.startsWith("By the API (Until "));

      // It clears while the dialog is open with "until it clears" ticked: the box is unticked
      // and disabled (the server would refuse it), and the shelving is for its time.
      await page.click(`${active} .history-toggle`);
      await page.click(`${active} .shelve`);
      await page.fill("#shelve-reason", "Pump swap");
      await page.selectOption("#shelve-duration", "900");
      await page.check("#shelve-until-cleared");
      assertEquals((await server.post(`${path}/clear`, {})).status, 200);
      await page.waitForSelector("#shelve-until-cleared:disabled:not(:checked)");
      await page.click("#shelve-submit");
      await page.waitForSelector("#shelve-dialog", { state: "hidden" });
      await page.waitForSelector(shelved);
      const cleared = await server.get(path);
      assertEquals(
        [cleared.body.state, cleared.body.shelved.reason, cleared.body.shelved.untilCleared],
        ["cleared-unacknowledged", "Pump swap", false],
      );
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: a flood banner at 11 alarms in 10 minutes on an id, not at 10, gone once they age out",
  async () => {
    // The server's fake clock stamps every alarm 2026-01-01T00:00:00Z; the page's clock is set
    // through the console's test hook, and moved without waiting.
    await using server = await startServer();
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      const pageClock = (iso: string) =>
        page.evaluate((ms) => {
          (globalThis as unknown as { pageTime: number }).pageTime = ms;
        }, Date.parse(iso));
      await page.addInitScript((ms) => {
        const g = globalThis as unknown as { pageTime: number; __alarmcastNow: () => number };
        g.pageTime = ms;
        g.__alarmcastNow = () => g.pageTime;
      }, Date.parse("2026-01-01T00:05:00Z"));
      await page.goto(`${server.http}/?id=flooded&id=calm`);
      await page.waitForSelector('#connections li[data-id="flooded"].status-online');
      await page.waitForSelector('#connections li[data-id="calm"].status-online');
      await server.post("/api/alarms/calm", { message: "one" });
      // Ten on "flooded": eight without a key, one condition raised twice (repeats count).
      for (let i = 1; i <= 8; i++) await server.post("/api/alarms/flooded", { message: `n${i}` });
      for (let i = 0; i < 2; i++) {
        await server.post("/api/alarms/flooded", { key: "valve-9", message: "Stuck" });
      }
      await text(page, '#conditions > li.condition[data-key="valve-9"] .count', "×2");
      await text(page, "#tab-alarms", "Other alarms (9)");
      assertEquals(await page.$$eval("#floods p", (l) => l.length), 0);

      await server.post("/api/alarms/flooded", { message: "the eleventh" });
      await text(page, "#floods p", "Alarm flood: 11 alarms in 10 minutes on flooded");
      assertEquals(await page.$$eval("#floods p", (l) => l.length), 1);
      await screenshot(page, "console-flood", false);

      // A console opened later counts what it replays, at the alarms' times.
      const later = await browser.newPage();
      await later.addInitScript(() => {
        (globalThis as unknown as { __alarmcastNow: () => number }).__alarmcastNow = () =>
          Date.parse("2026-01-01T00:09:00Z");
      });
      await later.goto(`${server.http}/?id=flooded`);
      await text(later, "#floods p", "Alarm flood: 11 alarms in 10 minutes on flooded");

      // Ten minutes after they were raised, they no longer count.
      await pageClock("2026-01-01T00:10:01Z");
      await page.waitForSelector("#floods p", { state: "detached" });
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console: speaks Chinese to a Chinese browser, English after the switch, and remembers it",
  async () => {
    await using server = await startServer();
    const browser = await launch();
    try {
      const context = await browser.newContext({ locale: "zh-CN" });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${server.http}/?id=plant-3`);
      await page.waitForSelector('#connections li[data-id="plant-3"].status-online');
      assertEquals(await page.getAttribute("html", "lang"), "zh-CN");
      assertEquals(await page.title(), "alarmcast 报警控制台");
      assertEquals(await page.textContent("#connect button"), "连接");
      await text(page, '#connections li[data-id="plant-3"]', "plant-3：在线 (WebSocket)");
      // The test form's levels too, from the first load (values as published).
      assertEquals(
        await page.$$eval(
          '#publish select[name="level"] option',
          (options) => options.map((o) => `${o.getAttribute("value")}=${o.textContent}`),
        ),
        ["critical=紧急", "major=重要", "minor=次要", "info=提示"],
      );
      const key = "boiler-7/pressure-high";
      const row = `#conditions > li.condition[data-key="${key}"]`;
      await server.post("/api/alarms/plant-3", { key, level: "critical", message: "压力过高" });
      await page.waitForSelector(row);
      assertEquals(await page.textContent(`${row} .state-text`), "未确认");
      assertEquals(await page.textContent(`${row} .level`), "紧急");
      assertEquals(await page.textContent(`${row} .acknowledge`), "确认");
      assertEquals(await page.textContent("#tab-conditions"), "当前报警 (1)");
      // A refusal, in words: someone shelved it first.
      await page.click(`${row} .shelve`);
      assertEquals(await page.textContent("#shelve-title"), `搁置 ${key}`);
      await page.fill("#shelve-reason", "检修");
      await server.post(`/api/conditions/plant-3/${enc(key)}/shelve`, {
        reason: "API",
        durationSeconds: 60,
      });
      await page.waitForSelector(`#shelved > li.condition[data-key="${key}"]`);
      await page.click("#shelve-submit");
      await text(page, "#shelve-error", "已被搁置");

      // The switch: everything in English, the dialog too.
      await page.selectOption("#language", "en");
      assertEquals(await page.getAttribute("html", "lang"), "en");
      assertEquals(await page.textContent("#shelve-error"), "Already shelved");
      assertEquals(await page.textContent("#shelve-title"), `Shelve ${key}`);
      await page.click("#shelve-cancel");
      assertEquals(await page.textContent("#connect button"), "Connect");
      await text(page, '#connections li[data-id="plant-3"]', "plant-3: online (WebSocket)");
      await text(page, "#shelved-heading", "Shelved (1)");
      assertEquals(
        await page.textContent(`#shelved > li.condition[data-key="${key}"] .state-text`),
        "Unacknowledged",
      );
      assertEquals(await page.textContent(`#shelved > li.condition .level`), "critical");

      // Remembered: the next load speaks English although the browser prefers Chinese.
      await page.reload();
      await page.waitForSelector('#connections li[data-id="plant-3"].status-online');
      assertEquals(await page.getAttribute("html", "lang"), "en");
      assertEquals(await page.textContent("#connect button"), "Connect");
      assertEquals(errors, []);
      await context.close();
    } finally {
      await browser.close();
    }
  },
);

/** Whether the keyboard focus is on `selector` or inside it (never back on the page's body). */
function focusedIn(page: Page, selector: string) {
  return page.evaluate((selector) => {
    const doc = (globalThis as unknown as {
      document: { activeElement: { closest(s: string): unknown } | null };
    }).document;
    return Boolean(doc.activeElement?.closest(selector));
  }, selector);
}

browserTest(
  "console: focus stays on the row after a keyboard acknowledge or shelve; long levels keep their column; another id starts clean; a token leaves the address bar",
  async () => {
    await using server = await startServer();
    const browser = await launch();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      // A token in a link is taken, then dropped from the address bar.
      await page.goto(`${server.http}/?token=secret-1`);
      assertEquals(new URL(page.url()).searchParams.has("token"), false);
      assertEquals(await page.inputValue('#connect input[name="token"]'), "secret-1");
      // The tab keeps it: a reload still has it, though the address bar doesn't.
      await page.reload();
      assertEquals(await page.inputValue('#connect input[name="token"]'), "secret-1");
      await page.fill('#connect input[name="token"]', "");

      await page.goto(`${server.http}/?id=plant-3`);
      await page.waitForSelector('#connections li[data-id="plant-3"].status-online');
      await server.post("/api/alarms/plant-3", { level: "minor", message: "Shift started" });
      await server.post("/api/alarms/plant-3", {
        key: "sis/trip",
        level: "safety-instrumented-function-trip-level",
        message: "SIS trip",
      });
      await server.post("/api/alarms/plant-3", { key: "k2", level: "critical", message: "Hot" });
      const row = (key: string) => `li.condition[data-key="${key}"]`;
      await page.waitForSelector(`#conditions > ${row("sis/trip")}`);
      await page.waitForSelector(`#conditions > ${row("k2")}`);
      // Every row's badge ends before its level starts, however long a level is.
      const overlaps = await page.$$eval(
        "#conditions > li.condition",
        (items) =>
          items.map((li) => {
            const badge = li.querySelector(".badge")!.getBoundingClientRect();
            const level = li.querySelector(".level")!.getBoundingClientRect();
            return badge.right - level.left;
          }),
      );
      assert(overlaps.every((px) => px <= 0), `badges over levels by ${overlaps} px`);
      assertEquals(
        await page.getAttribute(`${row("sis/trip")} .level`, "title"),
        "safety-instrumented-function-trip-level",
      );

      // Acknowledged from the keyboard: its button is off then, the focus on its row.
      await page.focus(`${row("k2")} .acknowledge`);
      await page.keyboard.press("Enter");
      await text(page, `${row("k2")} .state-text`, "Acknowledged");
      assert(await focusedIn(page, row("k2")), "focus on the acknowledged row");
      // Shelved from its dialog: the row moves to the shelved list, and so does the focus.
      await page.focus(`${row("sis/trip")} .shelve`);
      await page.keyboard.press("Enter");
      await page.fill("#shelve-reason", "Maintenance");
      await page.keyboard.press("Enter");
      await page.waitForSelector(`#shelved > ${row("sis/trip")}`);
      await page.waitForFunction(() =>
        !(globalThis as unknown as { document: { querySelector(s: string): { open: boolean } } })
          .document.querySelector("#shelve-dialog").open
      );
      assert(await focusedIn(page, `#shelved > ${row("sis/trip")}`), "focus on the shelved row");
      // Levels in the filter by severity, whatever order they came in.
      assertEquals(
        await page.$$eval("#filter-level option", (o) => o.map((x) => x.getAttribute("value"))),
        ["", "critical", "minor", "safety-instrumented-function-trip-level"],
      );
      // On a phone the long level neither widens the page nor its filter past the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      const wide = await page.evaluate(() =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
          .document.documentElement.scrollWidth
      );
      assertLess(wide, 391);
      await page.setViewportSize({ width: 1280, height: 900 });

      // The other alarms too: a new alarm leaves the focus where it was; acknowledged, on its row.
      await page.click("#tab-alarms");
      const shift = '#alarms > li[data-seq="1"]';
      await page.focus(`${shift} .ack`);
      await server.post("/api/alarms/plant-3", { level: "info", message: "Coffee" });
      await count(page, "#alarms > li", 2);
      assert(await focusedIn(page, `${shift} .ack`), "focus on the same button");
      await page.keyboard.press("Enter");
      await text(page, `${shift} .ack`, "Acked");
      assert(await focusedIn(page, shift), "focus on the acknowledged alarm's row");
      await page.click("#tab-conditions");

      // Another id: nothing of plant-3 stays (alarms, levels), however the page got there.
      await page.fill('#connect input[name="ids"]', "plant-9");
      await page.click("#connect button");
      await page.waitForSelector('#connections li[data-id="plant-9"].status-online');
      await count(page, "#conditions > li", 0);
      await count(page, "#alarms > li", 0);
      await count(page, "#filter-level option", 1);
      assertEquals(await page.textContent("#tab-alarms"), "Other alarms (0)");
      await server.post("/api/alarms/plant-9", { level: "info", message: "Here" });
      await count(page, "#alarms > li", 1);
      assertEquals(
        await page.$$eval("#filter-level option", (o) => o.map((x) => x.getAttribute("value"))),
        ["", "info"],
      );
      assertEquals(errors, []);
    } finally {
      await browser.close();
    }
  },
);

browserTest(
  "console in Chinese: a refused duration and the server's own actor names read in Chinese; a lost connection says the list may be out of date",
  async () => {
    const server = await startServer({ config: { maxShelveSeconds: 600 } });
    let stopped = false;
    const browser = await launch();
    try {
      const context = await browser.newContext({ locale: "zh-CN" });
      const page = await context.newPage();
      // Without /openapi.json the dialog doesn't know the limit: the server's refusal says it.
      await page.route("**/openapi.json", (route) => route.abort());
      await page.goto(`${server.http}/?id=plant-3`);
      await page.waitForSelector('#connections li[data-id="plant-3"].status-online');
      const key = "boiler-7";
      const row = `#conditions > li.condition[data-key="${key}"]`;
      await server.post("/api/alarms/plant-3", { key, level: "critical", message: "压力过高" });
      await page.waitForSelector(row);
      await page.click(`${row} .shelve`);
      await page.fill("#shelve-reason", "检修");
      await page.selectOption("#shelve-duration", "3600");
      await page.click("#shelve-submit");
      await text(page, "#shelve-error", "请求被拒绝：搁置时长须在 1 至 600 秒之间");
      await page.click("#shelve-cancel");
      // Acknowledged over HTTP with no credentials: by "anonymous", said in Chinese.
      const acked = await server.post(`/api/conditions/plant-3/${enc(key)}/acknowledge`, {});
      assertEquals(acked.status, 200);
      await page.waitForSelector(`${row}[data-state="active-acknowledged"]`);
      assert((await page.textContent(`${row} .note`))?.startsWith("匿名用户"));

      assertEquals(await page.isVisible("#stale"), false);
      stopped = true;
      await server[Symbol.asyncDispose]();
      await text(page, "#stale", "与 plant-3 的连接已中断：列表可能不是最新状态", 10_000);
      assertEquals(await page.getAttribute("main", "class"), "stale");
      await context.close();
    } finally {
      await browser.close();
      if (!stopped) await server[Symbol.asyncDispose]();
    }
  },
);
