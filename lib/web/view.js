// @ts-check
/// <reference lib="dom" />
/**
 * What the console's views share: the page's clock, how an alarm's time, level and text are read,
 * how times are written for people, and the one way elements are made (text only, never HTML).
 *
 * @module
 */
import { language, t } from "./i18n.js";

/** @typedef {import("./client.js").Alarm} Alarm */

/** Fields shown as the alarm's text, first found wins. */
const TEXT_FIELDS = ["message", "msg", "title", "content", "description", "name"];

/**
 * The page's clock, in epoch ms. Tests move it without waiting (the flood window is ten minutes)
 * by defining `globalThis.__alarmcastNow`, a function returning epoch ms, before the page's
 * scripts run (Playwright's `addInitScript`); nothing in the page sets it.
 * @returns {number}
 */
export function now() {
  const injected = /** @type {{ __alarmcastNow?: unknown }} */ (globalThis).__alarmcastNow;
  return typeof injected === "function" ? Number(injected()) : Date.now();
}

/** @param {string} id @returns {HTMLElement} */
export function el(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`Missing element "${id}"`);
  return found;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [className] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // never innerHTML: alarm fields are untrusted
  return node;
}

/** A button of `type="button"` with its text. @param {string} className @param {string} text */
export function button(className, text) {
  const node = make("button", className, text);
  node.type = "button";
  return node;
}

/** The alarm's `createTime` in epoch ms (0 when unreadable). @param {Alarm} alarm */
export function timeOf(alarm) {
  const t = typeof alarm.createTime === "number"
    ? alarm.createTime
    : Date.parse(String(alarm.createTime).replace(" ", "T"));
  return Number.isFinite(t) ? t : 0;
}

/**
 * An alarm's level as the server matches it (`levelOf` in lib/core/alarm.ts): `level`, else
 * `severity`, whichever first is a non-empty string or a number, lowercased; "" for none.
 * @param {Record<string, unknown>} alarm @returns {string}
 */
export function levelOf(alarm) {
  for (const level of [alarm.level, alarm.severity]) {
    if (typeof level === "number" || (typeof level === "string" && level !== "")) {
      return String(level).toLowerCase();
    }
  }
  return "";
}

/** Colour class of a level: crit, warn, info or other. @param {string} level */
export function tone(level) {
  if (/^(critical|crit|fatal|emergency|alert|high|error|urgent|[45])$/.test(level)) return "crit";
  if (/^(major|warning|warn|medium|3)$/.test(level)) return "warn";
  if (/^(minor|low|info|notice|normal|[012])$/.test(level)) return "info";
  return "other";
}

/** @param {Record<string, unknown>} alarm */
export function textOf(alarm) {
  for (const field of TEXT_FIELDS) {
    if (typeof alarm[field] === "string") return /** @type {string} */ (alarm[field]);
  }
  const { id: _id, seq: _seq, target: _target, createTime: _time, ...rest } = alarm;
  return JSON.stringify(rest);
}

/** How long ago `ms` was, in words. @param {number} ms */
export function relative(ms) {
  const s = Math.round((now() - ms) / 1000);
  if (s < 5) return t("justNow");
  if (s < 60) return t("secondsAgo", { n: s });
  if (s < 3600) return t("minutesAgo", { n: Math.floor(s / 60) });
  if (s < 86_400) return t("hoursAgo", { n: Math.floor(s / 3600) });
  return t("daysAgo", { n: Math.floor(s / 86_400) });
}

/**
 * A `<time>` of epoch ms `ms` as a clock time (with the date unless it is today), in the page's
 * language.
 * @param {number} ms @param {string} [className]
 */
export function clockTime(ms, className = "") {
  if (!Number.isFinite(ms)) return make("time", className, "—");
  const date = new Date(ms);
  const today = new Date(now()).toDateString() === date.toDateString();
  const format = new Intl.DateTimeFormat(language(), {
    ...(today ? {} : { month: "2-digit", day: "2-digit" }),
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23", // control rooms read a 24-hour clock, in either language
  });
  const node = make("time", className, format.format(date));
  node.dateTime = date.toISOString();
  return node;
}

/**
 * `node` with its whole text as its tooltip: the list shows a long one cut short.
 * @template {HTMLElement} T @param {T} node @returns {T}
 */
export function titled(node) {
  node.title = node.textContent ?? "";
  return node;
}

/**
 * Makes `row` a place the focus can land (not a tab stop), known as `key` in its list, as its
 * buttons are (`${key}\n<their class>` in `data-focus`: see {@linkcode button}'s callers).
 * @param {HTMLElement} row @param {string} key
 */
export function focusable(row, key) {
  row.dataset.focus = `${key}\nrow`;
  row.tabIndex = -1;
}

/**
 * What has the keyboard focus in a list that is rebuilt (its `data-focus`), with its row's place
 * and list, to put it back after: see {@linkcode refocus}.
 * @returns {{ focus: string, index: number, list: string } | undefined}
 */
export function focusedAction() {
  const active = document.activeElement;
  const focus = active?.getAttribute("data-focus");
  const row = active?.closest("li[data-focus]");
  const list = row?.parentElement;
  if (!focus || !row || !list?.id) return undefined;
  return { focus, index: [...list.children].indexOf(row), list: list.id };
}

/**
 * Puts the focus back after its list was rebuilt: on the same button; disabled now (an
 * acknowledgement on its way), on its row; gone to another list (shelved, unshelved), on the row
 * there; gone, on the row that took its place in its list, or the list: never back to the top
 * of the page.
 * @param {{ focus: string, index: number, list: string }} wanted
 */
export function refocus({ focus, index, list }) {
  const found = /** @type {HTMLElement | null} */ (
    document.querySelector(`[data-focus="${CSS.escape(focus)}"]`)
  );
  if (found && !(found instanceof HTMLButtonElement && found.disabled)) return found.focus();
  const row = `${focus.slice(0, focus.lastIndexOf("\n"))}\nrow`;
  const same = /** @type {HTMLElement | null} */ (
    document.querySelector(`[data-focus="${CSS.escape(row)}"]`)
  );
  const parent = el(list);
  const near = same ?? /** @type {HTMLElement | undefined} */ (
    parent.children[Math.min(index, parent.children.length - 1)]
  );
  if (!near) parent.tabIndex = -1;
  (near ?? parent).focus();
}
