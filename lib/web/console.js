// @ts-check
/// <reference lib="dom" />
/**
 * The alarm console: one {@linkcode AlarmClient} per id; the current alarms (one row per
 * condition, see `conditions.js`), which it opens on once any id has some; the other alarms (those
 * without a key) in one list, newest `createTime` first; a flood banner per id (`flood.js`);
 * filters, acks, a language switch (`i18n.js`) and a publish form. Alarms an escalation policy
 * covers carry `ackBy`: past it, unacknowledged, they show as overdue, and as escalated once an
 * escalation of theirs arrives (on any id the console watches); acknowledging clears both.
 * Rendering is batched per animation frame and only the first rows of a filtered list are in the
 * DOM, so thousands of alarms stay fast.
 *
 * @module
 */
// Served side by side: /console.js and /client.js in the browser, lib/web/ here.
import { AlarmClient } from "./client.js";
import { ConditionsView } from "./conditions.js";
import { FloodWatch } from "./flood.js";
import { chooseLanguage, errorText, initLanguage, LANGUAGES, levelName, t } from "./i18n.js";
import {
  button,
  el,
  focusable,
  focusedAction,
  levelOf,
  make,
  now,
  refocus,
  relative,
  textOf,
  timeOf,
  titled,
  tone,
} from "./view.js";

/** @typedef {import("./client.js").Alarm} Alarm */
/** @typedef {import("./client.js").Status} Status */
/** @typedef {import("./client.js").Transport} Transport */

/** Rows rendered per "page" of a list. */
const PAGE = 200;
/** The level filter's order: the common severities, then the others by tone. */
const SEVERITIES = ["critical", "major", "minor", "warning", "info"];
const TONES = ["crit", "warn", "info", "other"];
/** Longest level name shown in the level filter (whole in its tooltip). */
const LEVEL_OPTION_LENGTH = 24;
/** Where the token given last is kept for this tab: a reload reconnects with it. */
const TOKEN_KEY = "alarmcast.token";

/** @type {Map<string, AlarmClient>} */
const clients = new Map();
/** Every alarm without a key, sorted newest first. @type {Alarm[]} */
const alarms = [];
/** Alarms already received, by target and seq. @type {Set<string>} */
const seen = new Set();
/** Highest acknowledged seq per id. @type {Map<string, number>} */
const acked = new Map();
/** Escalations received, by their original's target and seq. @type {Map<string, Alarm>} */
const escalations = new Map();
/** Each id's connection state, shown again after a language switch. @type {Map<string, { status: Status, transport: Transport | undefined }>} */
const statuses = new Map();
const floods = new FloodWatch();
/** The timer that re-renders when the next deadline passes. @type {ReturnType<typeof setTimeout> | undefined} */
let deadlineTimer;
const levels = new Set();
let shown = PAGE;
let shownConditions = PAGE;
let renderQueued = false;
/** The view the operator picked; until then, current alarms once there are any. @type {"conditions" | "alarms" | undefined} */
let picked;
/** The problem shown, in the current language. @type {(() => string) | undefined} */
let problemText;
/** What the flood banner says now, so it is only rewritten (and announced) on a change. */
let floodsShown = "";

const conditions = new ConditionsView({ clients, queueRender, problem, onLevel: addLevel });

/** @param {Alarm} alarm */
function isAcked(alarm) {
  return (acked.get(alarm.target) ?? 0) >= alarm.seq;
}

/**
 * The original an escalation alarm refers to, if `alarm` is one.
 * @param {Alarm} alarm @returns {{ target: string, seq: number } | undefined}
 */
function escalationOf(alarm) {
  const ref = alarm.escalation;
  if (alarm.kind !== "escalation" || typeof ref !== "object" || ref === null) return undefined;
  const { target, seq } = /** @type {Record<string, unknown>} */ (ref);
  return typeof target === "string" && typeof seq === "number" ? { target, seq } : undefined;
}

/** Epoch ms by which `alarm` must be acknowledged, or NaN. @param {Alarm} alarm */
function deadlineOf(alarm) {
  return typeof alarm.ackBy === "string" ? Date.parse(alarm.ackBy) : NaN;
}

/**
 * What an unacknowledged alarm's deadline came to: escalated, overdue, or nothing (yet).
 * @param {Alarm} alarm @returns {"escalated" | "overdue" | ""}
 */
function stateOf(alarm) {
  if (isAcked(alarm)) return "";
  if (escalations.has(`${alarm.target}\n${alarm.seq}`)) return "escalated";
  return deadlineOf(alarm) <= now() ? "overdue" : "";
}

/**
 * An alarm arrived: counted for floods; a keyed one is its condition's (one row however often it
 * repeats), the others join the list.
 * @param {Alarm} alarm
 */
function received(alarm) {
  const key = `${alarm.target}\n${alarm.seq}`;
  if (seen.has(key)) return;
  seen.add(key);
  floods.record(alarm.target, timeOf(alarm) || now());
  if (typeof alarm.key === "string") conditions.raised(alarm);
  else add(alarm);
  queueRender();
}

/** Inserts `alarm` at its place (newest createTime first, then highest seq). @param {Alarm} alarm */
function add(alarm) {
  const original = escalationOf(alarm);
  if (original) escalations.set(`${original.target}\n${original.seq}`, alarm);
  const t = timeOf(alarm);
  let lo = 0;
  let hi = alarms.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const other = /** @type {Alarm} */ (alarms[mid]);
    const ot = timeOf(other);
    if (ot > t || (ot === t && other.seq > alarm.seq)) lo = mid + 1;
    else hi = mid;
  }
  alarms.splice(lo, 0, alarm);
  addLevel(levelOf(alarm));
}

/** Offers `level` in the level filter, once. @param {string} level */
function addLevel(level) {
  if (!level || levels.has(level)) return;
  levels.add(level);
  const select = /** @type {HTMLSelectElement} */ (el("filter-level"));
  const name = levelName(level);
  const option = new Option(
    name.length > LEVEL_OPTION_LENGTH ? `${name.slice(0, LEVEL_OPTION_LENGTH - 1)}…` : name,
    level,
  );
  option.title = level;
  // In a fixed order, whatever the order alarms came in: by severity, then the others by name.
  const after = [...select.options].slice(1).find((o) => levelOrder(level, o.value) < 0);
  select.insertBefore(option, after ?? null);
}

/**
 * The common severities in their order (critical, major, minor, warning, info), then other levels
 * by their tone, the most severe first, then by name.
 * @param {string} a @param {string} b
 */
function levelOrder(a, b) {
  const rank = (/** @type {string} */ level) => {
    const known = SEVERITIES.indexOf(level);
    return known >= 0 ? known : SEVERITIES.length + TONES.indexOf(tone(level));
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** The view on screen: the one picked, else current alarms once any id had some. */
function currentView() {
  return picked ?? (conditions.seen ? "conditions" : "alarms");
}

function render() {
  const filters = {
    id: /** @type {HTMLSelectElement} */ (el("filter-id")).value,
    level: /** @type {HTMLSelectElement} */ (el("filter-level")).value,
    state: /** @type {HTMLSelectElement} */ (el("filter-state")).value,
  };
  const view = currentView();
  el("views").hidden = !conditions.seen;
  el("conditions-view").hidden = view !== "conditions";
  el("alarms-view").hidden = view !== "alarms";
  el("filter-state-label").hidden = view !== "conditions";
  el("tab-conditions").setAttribute("aria-pressed", String(view === "conditions"));
  el("tab-alarms").setAttribute("aria-pressed", String(view === "alarms"));
  el("tab-conditions").textContent = t("tabConditions", { n: conditions.activeCount() });
  el("tab-alarms").textContent = t("tabAlarms", { n: alarms.length });

  // Rows are rebuilt on every change: keyboard focus stays on the same button, or near it.
  const focused = focusedAction();
  const current = conditions.render(filters, shownConditions);
  el("more-conditions").hidden = current.matching <= shownConditions;

  const visible = alarms.filter((a) =>
    (!filters.id || a.target === filters.id) && (!filters.level || levelOf(a) === filters.level)
  );
  el("alarms").replaceChildren(...visible.slice(0, shown).map(row));
  if (focused) refocus(focused);
  el("more").hidden = visible.length <= shown;
  // A live region: rewritten only when what it says changes, so it is announced once.
  const count = view === "conditions"
    ? t("conditionCount", { shown: current.matching, total: current.total })
    : alarms.length === 0
    ? t("noAlarms")
    : t("alarmCount", { shown: visible.length, total: alarms.length });
  if (el("count").textContent !== count) el("count").textContent = count;
  const late = alarms.filter((a) => stateOf(a) !== "").length;
  el("overdue").textContent = late === 0 ? "" : t("overdueCount", { n: late });
  el("overdue").hidden = late === 0;
  renderFloods();
  watchDeadlines();
}

// One line per flooded id; rewritten only when what it says changes, so a screen reader
// announces a flood once, not every second.
function renderFloods() {
  const lines = floods.floods(now()).map(({ id, count }) => t("flood", { id, n: count }));
  const text = lines.join("\n");
  if (text === floodsShown) return;
  floodsShown = text;
  el("floods").replaceChildren(...lines.map((line) => make("p", "flood", line)));
}

// One timer, for the next deadline to pass among unacknowledged alarms: the row turns overdue
// then, not at the next alarm.
function watchDeadlines() {
  clearTimeout(deadlineTimer);
  const at = now();
  let next = Infinity;
  for (const alarm of alarms) {
    const deadline = deadlineOf(alarm);
    if (deadline > at && deadline < next && !isAcked(alarm)) next = deadline;
  }
  if (next !== Infinity) deadlineTimer = setTimeout(queueRender, next - at + 50);
}

/** @param {Alarm} alarm */
function row(alarm) {
  const level = levelOf(alarm);
  const li = make("li", `alarm tone-${tone(level)}`);
  li.dataset.target = alarm.target;
  li.dataset.seq = String(alarm.seq);
  const k = `${alarm.target}\n${alarm.seq}`;
  focusable(li, k);
  const time = make("time", "when", relative(timeOf(alarm)));
  time.dateTime = new Date(timeOf(alarm)).toISOString();
  time.title = String(alarm.createTime);
  const done = isAcked(alarm);
  const ack = button("ack", t(done ? "acked" : "ack"));
  ack.dataset.focus = `${k}\nack`;
  ack.disabled = done || clients.get(alarm.target)?.status !== "online";
  ack.addEventListener("click", () => acknowledge(alarm));
  const body = make("span", "body");
  const state = stateOf(alarm);
  if (state) {
    li.classList.add(state);
    body.append(make("span", "state", t(state === "overdue" ? "overdue" : "escalated")));
  }
  const original = escalationOf(alarm);
  if (original) {
    li.classList.add("escalation");
    body.append(make("span", "state", t("escalationOf", original)));
  }
  body.append(titled(make("span", "text", textOf(alarm))));
  li.append(
    time,
    make("span", "target", alarm.target),
    titled(make("span", "level", levelName(level) || "—")),
    body,
    make("span", "seq", `#${alarm.seq}`),
    ack,
  );
  return li;
}

/**
 * Acknowledges `alarm`; for an escalation, its original too when the console holds that id.
 * @param {Alarm} alarm
 */
function acknowledge(alarm) {
  const original = escalationOf(alarm);
  for (const { target, seq } of original ? [alarm, original] : [alarm]) {
    if (clients.get(target)?.ack(seq)) {
      acked.set(target, Math.max(acked.get(target) ?? 0, seq));
    }
  }
  queueRender();
}

/**
 * @param {string} id @param {Status} status
 * @param {Transport} [transport] shown while online, so a blocked network is visible
 */
function showStatus(id, status, transport) {
  statuses.set(id, { status, transport });
  let badge = document.querySelector(`#connections li[data-id="${CSS.escape(id)}"]`);
  if (!badge) {
    badge = make("li");
    badge.setAttribute("data-id", id);
    el("connections").append(badge);
  }
  badge.className = `status status-${status}`;
  const via = status === "online" && transport
    ? ` (${transport === "sse" ? "SSE" : "WebSocket"})`
    : "";
  badge.textContent =
    t("statusLine", { id, status: t(/** @type {const} */ (`status.${status}`)) }) + via;
  if (transport) badge.setAttribute("data-transport", transport);
  showStale();
}

/** Says which ids lost their connection (the list may be out of date for them), if any. */
function showStale() {
  const lost = [...statuses].filter(([, { status }]) =>
    status === "reconnecting" || status === "offline"
  ).map(([id]) => id);
  const stale = el("stale");
  const text = lost.length === 0 ? "" : t("stale", { ids: lost.join(", ") });
  if (stale.textContent !== text) stale.textContent = text;
  stale.hidden = lost.length === 0;
  document.querySelector("main")?.classList.toggle("stale", lost.length > 0);
}

/**
 * Shows a problem (in the current language, also after a switch), or none. It stays until the
 * next one or the operator dismisses it: a refusal that vanished by itself could go unread.
 * @param {(() => string) | undefined} text
 */
function problem(text) {
  problemText = text;
  el("problem-text").textContent = text ? text() : "";
  el("problem").hidden = !text;
}

/** @param {string[]} ids @param {string} token */
function connect(ids, token) {
  sessionToken(token ? "set" : "remove", token);
  for (const client of clients.values()) client.stop();
  clients.clear();
  statuses.clear();
  showStale();
  conditions.reset();
  // Nothing of the ids watched before stays on screen: their alarms, acks, floods and levels.
  alarms.length = 0;
  seen.clear();
  acked.clear();
  escalations.clear();
  floods.clear();
  levels.clear();
  /** @type {HTMLSelectElement} */ (el("filter-level")).options.length = 1;
  shown = shownConditions = PAGE;
  queueRender();
  el("connections").replaceChildren();
  const filter = /** @type {HTMLSelectElement} */ (el("filter-id"));
  const all = new Option(t("all"), "");
  all.dataset.i18n = "all";
  filter.replaceChildren(all, ...ids.map((id) => new Option(id, id)));
  problem(undefined);
  for (const id of ids) {
    // since: 0 shows what the server still holds for the id, then live alarms.
    const client = new AlarmClient({
      url: location.origin,
      id,
      since: 0,
      ...(token ? { token } : {}),
    });
    client.addEventListener("alarm", (e) => received(/** @type {CustomEvent<Alarm>} */ (e).detail));
    // The id's log is not the one seen (a store restored): its alarms are read again from the
    // start, so the ones listed from the old log go.
    client.addEventListener("reset", () => {
      for (const key of seen) if (key.startsWith(`${id}\n`)) seen.delete(key);
      for (let i = alarms.length - 1; i >= 0; i--) {
        if (alarms[i]?.target === id) alarms.splice(i, 1);
      }
      floods.forget(id); // counted again as they come back
      acked.delete(id); // the welcome that follows says how far the new log is acknowledged
      queueRender();
    });
    // Another console (or the API) acknowledged up to a seq, now or before this one connected.
    client.addEventListener("ack", (e) => {
      const { seq } = /** @type {CustomEvent<{ seq: unknown }>} */ (e).detail;
      if (typeof seq !== "number" || seq <= (acked.get(id) ?? 0)) return;
      acked.set(id, seq);
      queueRender();
    });
    client.addEventListener("status", (e) => {
      const { detail } = /** @type {CustomEvent<{ status: Status, transport: Transport }>} */ (e);
      showStatus(id, detail.status, detail.transport);
      queueRender(); // ack buttons follow the connection state
    });
    client.addEventListener("error", (e) => {
      const { code, message, key, action } = /** @type {CustomEvent<
        { code: string, message: string, key?: string, action?: string }
      >} */
        (e).detail;
      // An ack the connection took with it: the id's `ack` events say where acks stand.
      const lost = code === "unconfirmed" || code === "unsent";
      if (lost && (action === "ack" || action === "send")) return;
      conditions.refused(id, String(code), String(message), key);
    });
    conditions.attach(id, client);
    clients.set(id, client);
    showStatus(id, "connecting");
    client.start();
  }
}

/**
 * The token this tab connected with last, kept for its reloads (gone with the tab; never in the
 * address bar); storage may be off (a policy, private mode): then a reload asks again.
 * @param {"get" | "set" | "remove"} what @param {string} [token] @returns {string | undefined}
 */
function sessionToken(what, token = "") {
  try {
    if (what === "get") return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
    if (what === "set") sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Not kept: the form still works.
  }
  return undefined;
}

/** @param {string} value */
function parseIds(value) {
  return [...new Set(value.split(/[\s,]+/).filter((id) => /^[A-Za-z0-9_.:-]{1,128}$/.test(id)))];
}

/** Puts everything in the current language: static text, then what the script wrote. */
function retranslate() {
  for (const option of /** @type {HTMLSelectElement} */ (el("filter-level")).options) {
    if (option.value) option.textContent = levelName(option.value);
  }
  labelPublishLevels();
  for (const [id, { status, transport }] of statuses) showStatus(id, status, transport);
  problem(problemText);
  floodsShown = "";
  conditions.retranslate();
  render();
}

/** The test form's levels, in the page's language (their values stay as published). */
function labelPublishLevels() {
  const publishLevel = /** @type {HTMLFormElement} */ (el("publish")).elements.namedItem("level");
  for (const option of /** @type {HTMLSelectElement} */ (publishLevel).options) {
    option.textContent = levelName(option.value);
  }
}

function setupLanguage() {
  const select = /** @type {HTMLSelectElement} */ (el("language"));
  select.value = initLanguage();
  labelPublishLevels();
  select.addEventListener("change", () => {
    const lang = LANGUAGES.find((l) => l === select.value);
    if (lang) chooseLanguage(lang);
    retranslate();
  });
  // The message field starts with a test text in the page's language.
  const message = /** @type {HTMLInputElement} */ (
    /** @type {HTMLFormElement} */ (el("publish")).elements.namedItem("message")
  );
  message.value = t("testAlarm");
}

function setup() {
  setupLanguage();
  const params = new URLSearchParams(location.search);
  const connectForm = /** @type {HTMLFormElement} */ (el("connect"));
  const idsInput = /** @type {HTMLInputElement} */ (connectForm.elements.namedItem("ids"));
  const tokenInput = /** @type {HTMLInputElement} */ (connectForm.elements.namedItem("token"));
  connectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = parseIds(idsInput.value);
    if (ids.length === 0) return problem(() => t("enterId"));
    // A bookmark of the new URL opens the console connected (the token stays out of it).
    const url = new URL(location.href);
    url.search = new URLSearchParams(ids.map((id) => ["id", id])).toString();
    history.replaceState(null, "", url);
    connect(ids, tokenInput.value.trim());
  });
  for (const filter of ["filter-id", "filter-level", "filter-state"]) {
    el(filter).addEventListener("change", () => (shown = shownConditions = PAGE, render()));
  }
  el("more").addEventListener("click", () => (shown += PAGE, render()));
  el("more-conditions").addEventListener("click", () => (shownConditions += PAGE, render()));
  el("tab-conditions").addEventListener("click", () => (picked = "conditions", render()));
  el("tab-alarms").addEventListener("click", () => (picked = "alarms", render()));
  el("problem-dismiss").addEventListener("click", () => problem(undefined));
  setupPublish();
  setInterval(() => {
    for (const time of document.querySelectorAll("#alarms time")) {
      time.textContent = relative(Date.parse(/** @type {HTMLTimeElement} */ (time).dateTime));
    }
  }, 5000);
  // Alarms leave the flood window as time passes, with no alarm to trigger a render.
  setInterval(renderFloods, 1000);
  render();
  const ids = parseIds(params.getAll("id").join(","));
  tokenInput.value = sessionToken("get") ?? "";
  if (params.has("token")) {
    // A token in a link is taken once: it stays out of the address bar, history and bookmarks,
    // and this tab keeps it (sessionStorage) so a reload reconnects.
    tokenInput.value = params.get("token") ?? "";
    sessionToken(tokenInput.value ? "set" : "remove", tokenInput.value);
    const url = new URL(location.href);
    url.searchParams.delete("token");
    history.replaceState(null, "", url);
  }
  if (ids.length > 0) {
    idsInput.value = ids.join(", ");
    connect(ids, tokenInput.value);
  }
}

function setupPublish() {
  const form = /** @type {HTMLFormElement} */ (el("publish"));
  const output = el("publish-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const id = String(data.get("id") ?? "").trim();
    output.textContent = t("publishing");
    try {
      const res = await fetch(`/api/alarms/${encodeURIComponent(id)}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${String(data.get("key") ?? "")}`,
        },
        body: JSON.stringify({ level: data.get("level"), message: data.get("message") }),
      });
      const body = await res.json();
      output.textContent = res.ok
        ? t("published", { seq: body.seq, id })
        : errorText(String(body.error?.code), body.error?.message ?? res.statusText);
    } catch (error) {
      output.textContent = t("failed", { detail: String(error) });
    }
  });
}

setup();
