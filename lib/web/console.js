// @ts-check
/// <reference lib="dom" />
/**
 * The alarm console: one {@linkcode AlarmClient} per id, one list of alarms (newest `createTime`
 * first), filters, acks and a publish form. Alarms an escalation policy covers carry `ackBy`:
 * past it, unacknowledged, they show as overdue, and as escalated once an escalation of theirs
 * arrives (on any id the console watches); acknowledging clears both. Rendering is batched per
 * animation frame and only the first rows of the filtered list are in the DOM, so thousands of
 * alarms stay fast.
 *
 * @module
 */
// Served side by side: /console.js and /client.js in the browser, lib/web/ here.
import { AlarmClient } from "./client.js";

/** @typedef {import("./client.js").Alarm} Alarm */
/** @typedef {import("./client.js").Status} Status */

/** Rows rendered per "page" of the list. */
const PAGE = 200;
/** Fields shown as the alarm's text, first found wins. */
const TEXT_FIELDS = ["message", "msg", "title", "content", "description", "name"];

/** @type {Map<string, AlarmClient>} */
const clients = new Map();
/** Every alarm, sorted newest first. @type {Alarm[]} */
const alarms = [];
/** Alarms already listed, by target and seq. @type {Set<string>} */
const seen = new Set();
/** Highest acknowledged seq per id. @type {Map<string, number>} */
const acked = new Map();
/** Escalations received, by their original's target and seq. @type {Map<string, Alarm>} */
const escalations = new Map();
/** The timer that re-renders when the next deadline passes. @type {ReturnType<typeof setTimeout> | undefined} */
let deadlineTimer;
const levels = new Set();
let shown = PAGE;
let renderQueued = false;

/** @param {string} id @returns {HTMLElement} */
function el(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`Missing element "${id}"`);
  return found;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [className] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // never innerHTML: alarm fields are untrusted
  return node;
}

/** @param {Alarm} alarm */
function timeOf(alarm) {
  const t = typeof alarm.createTime === "number"
    ? alarm.createTime
    : Date.parse(String(alarm.createTime).replace(" ", "T"));
  return Number.isFinite(t) ? t : 0;
}

/** @param {Alarm} alarm @returns {string} */
function levelOf(alarm) {
  const level = alarm.level ?? alarm.severity;
  return level === undefined || level === null ? "" : String(level).toLowerCase();
}

/** Colour class of a level: crit, warn, info or other. @param {string} level */
function tone(level) {
  if (/^(critical|crit|fatal|emergency|alert|high|error|urgent|[45])$/.test(level)) return "crit";
  if (/^(major|warning|warn|medium|3)$/.test(level)) return "warn";
  if (/^(minor|low|info|notice|normal|[012])$/.test(level)) return "info";
  return "other";
}

/** @param {Alarm} alarm */
function textOf(alarm) {
  for (const field of TEXT_FIELDS) {
    if (typeof alarm[field] === "string") return /** @type {string} */ (alarm[field]);
  }
  const { id: _id, seq: _seq, target: _target, createTime: _time, ...rest } = alarm;
  return JSON.stringify(rest);
}

/** @param {number} ms */
function relative(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
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

/** @param {Alarm} alarm */
function isAcked(alarm) {
  return (acked.get(alarm.target) ?? 0) >= alarm.seq;
}

/**
 * What an unacknowledged alarm's deadline came to: escalated, overdue, or nothing (yet).
 * @param {Alarm} alarm @returns {"escalated" | "overdue" | ""}
 */
function stateOf(alarm) {
  if (isAcked(alarm)) return "";
  if (escalations.has(`${alarm.target}\n${alarm.seq}`)) return "escalated";
  return deadlineOf(alarm) <= Date.now() ? "overdue" : "";
}

/** Inserts `alarm` at its place (newest createTime first, then highest seq). @param {Alarm} alarm */
function add(alarm) {
  const key = `${alarm.target}\n${alarm.seq}`;
  if (seen.has(key)) return;
  seen.add(key);
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
  const level = levelOf(alarm);
  if (level && !levels.has(level)) {
    levels.add(level);
    el("filter-level").append(new Option(level, level));
  }
  queueRender();
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const idFilter = /** @type {HTMLSelectElement} */ (el("filter-id")).value;
  const levelFilter = /** @type {HTMLSelectElement} */ (el("filter-level")).value;
  const visible = alarms.filter((a) =>
    (!idFilter || a.target === idFilter) && (!levelFilter || levelOf(a) === levelFilter)
  );
  const rows = visible.slice(0, shown).map(row);
  el("alarms").replaceChildren(...rows);
  el("count").textContent = alarms.length === 0
    ? "No alarms yet"
    : `${visible.length} of ${alarms.length} alarms`;
  el("more").hidden = visible.length <= shown;
  const late = alarms.filter((a) => stateOf(a) !== "").length;
  el("overdue").textContent = late === 0 ? "" : `${late} overdue`;
  el("overdue").hidden = late === 0;
  watchDeadlines();
}

// One timer, for the next deadline to pass among unacknowledged alarms: the row turns overdue
// then, not at the next alarm.
function watchDeadlines() {
  clearTimeout(deadlineTimer);
  const now = Date.now();
  let next = Infinity;
  for (const alarm of alarms) {
    const deadline = deadlineOf(alarm);
    if (deadline > now && deadline < next && !isAcked(alarm)) next = deadline;
  }
  if (next !== Infinity) deadlineTimer = setTimeout(queueRender, next - now + 50);
}

/** @param {Alarm} alarm */
function row(alarm) {
  const level = levelOf(alarm);
  const li = make("li", `alarm tone-${tone(level)}`);
  li.dataset.target = alarm.target;
  li.dataset.seq = String(alarm.seq);
  const time = make("time", "when", relative(timeOf(alarm)));
  time.dateTime = new Date(timeOf(alarm)).toISOString();
  time.title = String(alarm.createTime);
  const done = isAcked(alarm);
  const ack = make("button", "ack", done ? "Acked" : "Ack");
  ack.type = "button";
  ack.disabled = done || clients.get(alarm.target)?.status !== "online";
  ack.addEventListener("click", () => acknowledge(alarm));
  const body = make("span", "body");
  const state = stateOf(alarm);
  if (state) {
    li.classList.add(state);
    body.append(make("span", "state", state === "overdue" ? "Overdue" : "Escalated"));
  }
  const original = escalationOf(alarm);
  if (original) {
    li.classList.add("escalation");
    body.append(make("span", "state", `Escalation of ${original.target} #${original.seq}`));
  }
  body.append(make("span", "text", textOf(alarm)));
  li.append(
    time,
    make("span", "target", alarm.target),
    make("span", "level", level || "—"),
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
 * @param {"websocket" | "sse"} [transport] shown while online, so a blocked network is visible
 */
function showStatus(id, status, transport) {
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
  badge.textContent = `${id}: ${status}${via}`;
  if (transport) badge.setAttribute("data-transport", transport);
}

/** @param {string} text */
function problem(text) {
  const node = el("problem");
  node.textContent = text;
  node.hidden = !text;
}

/** @param {string[]} ids @param {string} token */
function connect(ids, token) {
  for (const client of clients.values()) client.stop();
  clients.clear();
  el("connections").replaceChildren();
  const filter = /** @type {HTMLSelectElement} */ (el("filter-id"));
  filter.replaceChildren(new Option("all", ""), ...ids.map((id) => new Option(id, id)));
  problem("");
  for (const id of ids) {
    // since: 0 shows what the server still holds for the id, then live alarms.
    const client = new AlarmClient({
      url: location.origin,
      id,
      since: 0,
      ...(token ? { token } : {}),
    });
    client.addEventListener("alarm", (e) => add(/** @type {CustomEvent<Alarm>} */ (e).detail));
    client.addEventListener("status", (e) => {
      const { detail } =
        /** @type {CustomEvent<{ status: Status, transport: "websocket" | "sse" }>} */ (e);
      showStatus(id, detail.status, detail.transport);
      queueRender(); // ack buttons follow the connection state
    });
    client.addEventListener("error", (e) => {
      const { message } = /** @type {CustomEvent<{ message: string }>} */ (e).detail;
      problem(`${id}: ${message}`);
    });
    clients.set(id, client);
    showStatus(id, "connecting");
    client.start();
  }
}

/** @param {string} value */
function parseIds(value) {
  return [...new Set(value.split(/[\s,]+/).filter((id) => /^[A-Za-z0-9_.:-]{1,128}$/.test(id)))];
}

function setup() {
  const params = new URLSearchParams(location.search);
  const connectForm = /** @type {HTMLFormElement} */ (el("connect"));
  const idsInput = /** @type {HTMLInputElement} */ (connectForm.elements.namedItem("ids"));
  const tokenInput = /** @type {HTMLInputElement} */ (connectForm.elements.namedItem("token"));
  connectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = parseIds(idsInput.value);
    if (ids.length === 0) return problem("Enter at least one id");
    // A bookmark of the new URL opens the console connected (the token stays out of it).
    const url = new URL(location.href);
    url.search = new URLSearchParams(ids.map((id) => ["id", id])).toString();
    history.replaceState(null, "", url);
    connect(ids, tokenInput.value.trim());
  });
  el("filter-id").addEventListener("change", () => (shown = PAGE, render()));
  el("filter-level").addEventListener("change", () => (shown = PAGE, render()));
  el("more").addEventListener("click", () => (shown += PAGE, render()));
  setupPublish();
  setInterval(() => {
    for (const time of document.querySelectorAll("#alarms time")) {
      time.textContent = relative(Date.parse(/** @type {HTMLTimeElement} */ (time).dateTime));
    }
  }, 5000);
  const ids = parseIds(params.getAll("id").join(","));
  if (ids.length > 0) {
    idsInput.value = ids.join(", ");
    tokenInput.value = params.get("token") ?? "";
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
    output.textContent = "Publishing…";
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
        ? `Published #${body.seq} to ${id}`
        : body.error?.message ?? res.statusText;
    } catch (error) {
      output.textContent = `Failed: ${error}`;
    }
  });
}

setup();
