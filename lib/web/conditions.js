// @ts-check
/// <reference lib="dom" />
/**
 * The operator's alarm list: one row per active condition (an alarm published with a `key`)
 * across the ids the console watches, with its state in words and shape (not only colour), its
 * repeat count and times; acknowledge (at once, or with a comment), shelve (with a reason, for a
 * chosen time, and a comment) and unshelve; a
 * list of what is shelved; and each condition's history as this console saw it (the raises and
 * transitions that reached it, replayed ones included), kept in memory per key. The server's own
 * history of a condition needs the API key, which the console doesn't hold.
 *
 * @module
 */
import { actorName, errorText, levelName, t } from "./i18n.js";
import {
  button,
  clockTime,
  el,
  focusable,
  focusedAction,
  levelOf,
  make,
  refocus,
  textOf,
  timeOf,
  titled,
  tone,
} from "./view.js";

/** @typedef {import("./client.js").AlarmClient} AlarmClient */
/** @typedef {import("./client.js").Alarm} Alarm */
/** @typedef {import("./i18n.js").MessageKey} MessageKey */

/**
 * A condition as the client library keeps it (see docs/conditions.md).
 * @typedef {{
 *   id: string, key: string, state: string, count: number, firstTime: number, lastTime: number,
 *   seq: number, alarm?: Record<string, unknown>, acknowledged?: { by: string, at: number },
 *   clearedAt?: number,
 *   shelved?: { until: number, reason: string, by: string, at: number, untilCleared: boolean },
 * }} Condition
 */

/**
 * One thing this console saw happen to a condition: a raise (its level and text) or a transition
 * (who, and the reason, comment and end of a shelving).
 * @typedef {{
 *   seq: number, action: string, by: string, at: number, level?: string, text?: string,
 *   reason?: string, comment?: string, until?: number,
 * }} HistoryEntry
 */

/** The states a row can be in (`normal` ones leave the list). */
export const STATES = ["active-unacknowledged", "active-acknowledged", "cleared-unacknowledged"];
/** Shelve durations offered, in seconds. */
const DURATIONS = [900, 3600, 28_800];
/** History entries kept per condition (the newest). */
const HISTORY_LIMIT = 100;
/** How long a shelve may go unanswered before the dialog says so. */
const ANSWER_MS = 10_000;

/** The filters of the page, applied to both lists. @typedef {{ id: string, level: string, state: string }} Filters */

/** @param {string} id @param {string} key */
const rowKey = (id, key) => `${id}\n${key}`;

/** @param {string} state */
const unacknowledged = (state) => state.endsWith("-unacknowledged");

/** Current conditions, shelved ones, their history and the action dialog (shelve, or acknowledge with a comment). */
export class ConditionsView {
  /** @type {Map<string, AlarmClient>} */
  #clients;
  /** @type {() => void} */
  #queueRender;
  /** @type {(text: () => string) => void} */
  #problem;
  /** @type {(level: string) => void} */
  #onLevel;
  /** Each id's active list (shelved ones too), as its client last reported it. @type {Map<string, Condition[]>} */
  #byId = new Map();
  /** What this console saw happen, per condition. @type {Map<string, HistoryEntry[]>} */
  #history = new Map();
  /** Rows whose history is open. @type {Set<string>} */
  #open = new Set();
  /** Rows with an acknowledgement on its way. @type {Set<string>} */
  #acking = new Set();
  /**
   * The condition the dialog is for, what it does (shelve, or acknowledge with a comment), and
   * whether that was sent.
   * @type {{ id: string, key: string, action: "shelve" | "acknowledge", sent: boolean } | undefined}
   */
  #acting;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #answerTimer;
  /** The server's longest shelve, read from /openapi.json once. @type {Promise<void> | undefined} */
  #maxShelve;
  /** That limit in seconds, once known. */
  #max = Infinity;
  /** The dialog's error, in the current language. @type {(() => string) | undefined} */
  #dialogText;
  /**
   * Where focus goes back to when the dialog closes: the button that opened it, and its row's
   * place in its list (the row may have gone by then).
   * @type {{ focus: string, index: number, list: string } | undefined}
   */
  #opener;
  /** Whether any condition was ever seen: the console then opens on this view. */
  seen = false;

  /**
   * @param {{
   *   clients: Map<string, AlarmClient>, queueRender: () => void,
   *   problem: (text: () => string) => void, onLevel: (level: string) => void,
   * }} options
   */
  constructor({ clients, queueRender, problem, onLevel }) {
    this.#clients = clients;
    this.#queueRender = queueRender;
    this.#problem = problem;
    this.#onLevel = onLevel;
    this.#setupDialog();
  }

  /** Follows the conditions of `id` through its client. @param {string} id @param {AlarmClient} client */
  attach(id, client) {
    client.addEventListener("conditions", (e) => {
      const list = /** @type {CustomEvent<Condition[]>} */ (e).detail;
      this.#byId.set(id, list);
      if (list.length > 0) this.seen = true;
      for (const condition of list) {
        const level = levelOf(condition.alarm ?? {});
        if (level) this.#onLevel(level);
      }
      // An acknowledgement is done once its row is no longer unacknowledged (or gone).
      for (const pending of this.#acking) {
        const [pid, key] = pending.split("\n");
        if (pid !== id) continue;
        const found = list.find((c) => c.key === key);
        if (!found || !unacknowledged(found.state)) this.#acking.delete(pending);
      }
      const acting = this.#acting;
      const shelving = acting?.id === id && acting.action === "shelve" && !acting.sent &&
        list.find((c) => c.key === acting.key);
      if (shelving) this.#offerUntilCleared(shelving);
      this.#queueRender();
    });
    client.addEventListener("transition", (e) => {
      const { seq, transition } =
        /** @type {CustomEvent<{ seq: number, transition: Record<string, unknown> }>} */ (e).detail;
      const key = String(transition.key);
      /** @type {HistoryEntry} */
      const entry = {
        seq,
        action: String(transition.action),
        by: String(transition.by ?? ""),
        at: Date.parse(String(transition.at)),
      };
      if (typeof transition.reason === "string") entry.reason = transition.reason;
      if (typeof transition.comment === "string") entry.comment = transition.comment;
      if (typeof transition.until === "string") entry.until = Date.parse(transition.until);
      this.#remember(id, key, entry);
      const acting = this.#acting;
      if (
        acting?.sent && acting.id === id && acting.key === key &&
        transition.action === acting.action
      ) {
        this.#closeDialog();
      }
      this.#queueRender();
    });
  }

  /** A keyed alarm arrived: one more raise in its condition's history. @param {Alarm} alarm */
  raised(alarm) {
    this.#remember(alarm.target, String(alarm.key), {
      seq: alarm.seq,
      action: "raise",
      by: "",
      at: timeOf(alarm),
      level: levelOf(alarm),
      text: textOf(alarm),
    });
  }

  /**
   * A refusal reported by the client of `id`, about condition `key` when the client knows which
   * action it answers: shown in the dialog when that waits on it, else on the page.
   * @param {string} id @param {string} code @param {string} message @param {string} [key]
   */
  refused(id, code, message, key) {
    for (const pending of this.#acking) {
      // A refusal naming its condition ends that row's wait only.
      const about = key === undefined ? pending.startsWith(`${id}\n`) : pending === rowKey(id, key);
      if (about) this.#acking.delete(pending);
    }
    const acting = this.#acting;
    if (acting?.sent && acting.id === id && (key === undefined || acting.key === key)) {
      acting.sent = false;
      this.#dialogError(() => errorText(code, message));
    } else {
      const where = key === undefined ? id : `${id} · ${key}`;
      this.#problem(() => `${where}: ${errorText(code, message)}`);
    }
    this.#queueRender();
  }

  /** Forgets the lists (the console connects to other ids); history stays. */
  reset() {
    this.#byId.clear();
    this.#acking.clear();
  }

  /** Active conditions, not shelved, before filters. */
  activeCount() {
    let n = 0;
    for (const list of this.#byId.values()) n += list.filter((c) => !c.shelved).length;
    return n;
  }

  /**
   * Renders both lists through `filters`, at most `limit` current rows (the caller keeps the
   * keyboard focus: see `refocus`).
   * @param {Filters} filters @param {number} limit
   * @returns {{ total: number, matching: number }} current rows in all, and through the filters
   */
  render(filters, limit) {
    const all = [...this.#byId.values()].flat().filter((c) => c.state !== "normal")
      // Unacknowledged first, then the most recent.
      .sort((a, b) =>
        Number(unacknowledged(b.state)) - Number(unacknowledged(a.state)) ||
        b.lastTime - a.lastTime || b.seq - a.seq
      );
    const matches = all.filter((c) =>
      (!filters.id || c.id === filters.id) &&
      (!filters.level || levelOf(c.alarm ?? {}) === filters.level) &&
      (!filters.state || c.state === filters.state)
    );
    const current = matches.filter((c) => !c.shelved);
    const shelved = matches.filter((c) => c.shelved);
    el("conditions").replaceChildren(...current.slice(0, limit).map((c) => this.#row(c)));
    el("no-conditions").hidden = current.length > 0;
    el("shelved-heading").textContent = t("shelved", { n: shelved.length });
    el("shelved-section").hidden = shelved.length === 0;
    el("shelved").replaceChildren(...shelved.map((c) => this.#row(c)));
    return { total: all.filter((c) => !c.shelved).length, matching: current.length };
  }

  /** @param {string} id @param {string} key @param {HistoryEntry} entry */
  #remember(id, key, entry) {
    const k = rowKey(id, key);
    const list = this.#history.get(k) ?? [];
    if (list.some((e) => e.seq === entry.seq)) return;
    list.push(entry);
    list.sort((a, b) => a.seq - b.seq);
    this.#history.set(k, list.slice(-HISTORY_LIMIT));
  }

  /** @param {Condition} c */
  #row(c) {
    const k = rowKey(c.id, c.key);
    const alarm = c.alarm ?? {};
    const level = levelOf(alarm);
    const state = c.shelved ? "shelved" : c.state;
    const li = make("li", `condition tone-${tone(level)} state-${state}`);
    if (unacknowledged(c.state)) li.classList.add("unacked");
    li.dataset.target = c.id;
    li.dataset.key = c.key;
    li.dataset.state = c.state;
    focusable(li, k); // focus lands on the row when its button can't take it (see refocus)
    const online = this.#clients.get(c.id)?.status === "online";

    // The state in words and shape: colour alone says nothing to some operators.
    const badge = make("span", "badge");
    badge.append(make("span", "marker"));
    if (c.shelved) badge.append(make("span", "shelved-text", t("shelvedBadge")));
    badge.append(make("span", "state-text", t(/** @type {MessageKey} */ (`state.${c.state}`))));

    const where = make("span", "where");
    where.append(make("span", "target", c.id), make("span", "key", c.key));

    const body = make("span", "body");
    body.append(titled(make("span", "text", c.alarm ? textOf(c.alarm) : "")));
    if (c.acknowledged && c.state === "active-acknowledged") {
      const time = clockTime(c.acknowledged.at).textContent ?? "";
      body.append(
        make("span", "note", t("acknowledgedBy", { by: actorName(c.acknowledged.by), time })),
      );
    }
    if (c.shelved) body.append(this.#shelvedInfo(c.shelved));

    const count = make("span", "count", t("repeats", { n: c.count }));
    count.title = t("repeatsLabel", { n: c.count });
    count.setAttribute("aria-label", count.title);

    const times = make("span", "times");
    const first = clockTime(c.firstTime, "first");
    const last = clockTime(c.lastTime, "last");
    first.textContent = t("firstTime", { time: first.textContent ?? "" });
    last.textContent = t("lastTime", { time: last.textContent ?? "" });
    times.append(first, last);

    const actions = make("span", "actions");
    if (c.shelved) {
      const unshelve = this.#action("unshelve", t("unshelve"), k, c);
      unshelve.disabled = !online;
      unshelve.addEventListener("click", () => this.#act(c, "unshelve"));
      actions.append(unshelve);
    } else {
      const acking = this.#acking.has(k);
      const ack = this.#action("acknowledge", t(acking ? "acknowledging" : "acknowledge"), k, c);
      ack.disabled = !online || acking || !unacknowledged(c.state);
      ack.addEventListener("click", () => this.#act(c, "acknowledge"));
      const noted = this.#action("acknowledge-comment", t("acknowledgeWithComment"), k, c);
      noted.setAttribute(
        "aria-label",
        `${t("acknowledgeTitle", { key: c.key })}: ${noted.textContent}`,
      );
      noted.disabled = ack.disabled;
      noted.addEventListener("click", () => this.#openDialog(c, "acknowledge"));
      const shelve = this.#action("shelve", t("shelve"), k, c);
      shelve.disabled = !online;
      shelve.addEventListener("click", () => this.#openDialog(c, "shelve"));
      actions.append(ack, noted, shelve);
    }
    const open = this.#open.has(k);
    const toggle = this.#action("history-toggle", t("history"), k, c);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.addEventListener("click", () => this.#toggleHistory(k));
    actions.append(toggle);

    li.append(
      badge,
      titled(make("span", "level", levelName(level) || "—")),
      where,
      body,
      count,
      times,
      actions,
    );
    if (open) li.append(this.#historyOf(k));
    // A click anywhere on the row (but its buttons) opens its history too.
    li.addEventListener("click", (event) => {
      const target = /** @type {Element} */ (event.target);
      if (!target.closest("button, .history")) this.#toggleHistory(k);
    });
    return li;
  }

  /**
   * @param {string} className @param {string} text @param {string} k @param {Condition} c
   */
  #action(className, text, k, c) {
    const node = button(className, text);
    node.dataset.focus = `${k}\n${className}`;
    // The row's key, for screen readers that read the button alone.
    node.setAttribute("aria-label", `${text}: ${c.key}`);
    return node;
  }

  /** @param {NonNullable<Condition["shelved"]>} shelved */
  #shelvedInfo(shelved) {
    const info = make("dl", "shelving");
    /** @type {[MessageKey, string, string | Node][]} */
    const fields = [
      ["shelvedReason", "shelved-reason", shelved.reason],
      ["shelvedBy", "shelved-by", actorName(shelved.by)],
      ["shelvedUntil", "shelved-until", clockTime(shelved.until)],
    ];
    for (const [label, className, value] of fields) {
      const dd = make("dd", className);
      dd.append(value);
      info.append(make("dt", "", t(label)), dd);
    }
    return info;
  }

  /** @param {string} k */
  #toggleHistory(k) {
    if (!this.#open.delete(k)) this.#open.add(k);
    this.#queueRender();
  }

  /** @param {string} k */
  #historyOf(k) {
    const entries = this.#history.get(k) ?? [];
    const box = make("div", "history");
    if (entries.length === 0) {
      box.append(make("p", "history-empty", t("historyEmpty")));
      return box;
    }
    const head = make("div", "history-head");
    head.setAttribute("aria-hidden", "true"); // each entry's parts are read in this order
    for (const key of /** @type {const} */ (["historyWhen", "historyAction", "historyBy"])) {
      head.append(make("span", "", t(key)));
    }
    head.append(make("span", "", t("historyDetails")));
    box.append(head);
    const list = make("ol", "history-list");
    // Newest first, as the lists are.
    for (const entry of [...entries].reverse()) {
      const item = make("li", `history-entry action-${entry.action}`);
      item.dataset.action = entry.action;
      const action = t(/** @type {MessageKey} */ (`action.${entry.action}`));
      const details = make("span", "history-details");
      if (entry.action === "raise") {
        details.textContent = [levelName(entry.level ?? ""), entry.text].filter(Boolean).join(
          " · ",
        );
      } else {
        details.textContent = [entry.reason, entry.comment].filter(Boolean).join(" — ");
        if (entry.until !== undefined) {
          details.append(` (${t("shelvedUntil")} `, clockTime(entry.until), ")");
        }
      }
      item.append(
        clockTime(entry.at, "history-when"),
        make("span", "history-action", action.startsWith("action.") ? entry.action : action),
        make("span", "history-by", entry.by ? actorName(entry.by) : t("publisher")),
        details,
      );
      list.append(item);
    }
    box.append(list);
    return box;
  }

  /** @param {Condition} c @param {"acknowledge" | "unshelve"} action */
  #act(c, action) {
    const client = this.#clients.get(c.id);
    const sent = action === "acknowledge" ? client?.acknowledge(c.key) : client?.unshelve(c.key);
    if (!sent) return this.#problem(() => t("notOnline", { id: c.id }));
    if (action === "acknowledge") this.#acking.add(rowKey(c.id, c.key));
    this.#queueRender();
  }

  // The dialog: to shelve (a reason, required, and a duration the server allows) or to
  // acknowledge, each with an optional comment.

  #setupDialog() {
    const form = /** @type {HTMLFormElement} */ (el("shelve-form"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submitDialog(form);
    });
    el("shelve-cancel").addEventListener("click", () => this.#closeDialog());
    el("shelve-dialog").addEventListener("close", () => this.#closeDialog());
    const select = /** @type {HTMLSelectElement} */ (el("shelve-duration"));
    select.replaceChildren(...DURATIONS.map((seconds) => new Option("", String(seconds))));
    const reason = /** @type {HTMLInputElement} */ (el("shelve-reason"));
    reason.addEventListener("input", () => reason.setCustomValidity(""));
  }

  /** @param {Condition} c @param {"shelve" | "acknowledge"} action */
  #openDialog(c, action) {
    this.#opener = focusedAction();
    this.#acting = { id: c.id, key: c.key, action, sent: false };
    const form = /** @type {HTMLFormElement} */ (el("shelve-form"));
    form.reset();
    el("shelve-fields").hidden = action !== "shelve";
    // A hidden required field would block the form.
    /** @type {HTMLInputElement} */ (el("shelve-reason")).required = action === "shelve";
    /** @type {HTMLSelectElement} */ (el("shelve-duration")).value = "3600";
    this.#offerUntilCleared(c);
    el("shelve-what").textContent = `${c.id} · ${c.alarm ? textOf(c.alarm) : ""}`;
    this.#dialogError(undefined);
    /** @type {HTMLDialogElement} */ (el("shelve-dialog")).showModal();
    this.#maxShelve ??= maxShelveSeconds().then((max) => {
      this.#max = max;
      this.#fillDialog();
    });
  }

  /** The dialog's words in the current language, and whether its action is on its way. */
  #fillDialog() {
    const acting = this.#acting;
    if (!acting) return;
    const shelve = acting.action === "shelve";
    el("shelve-title").textContent = t(shelve ? "shelveTitle" : "acknowledgeTitle", {
      key: acting.key,
    });
    const submit = /** @type {HTMLButtonElement} */ (el("shelve-submit"));
    submit.textContent = t(
      shelve
        ? (acting.sent ? "shelving" : "shelve")
        : (acting.sent ? "acknowledging" : "acknowledge"),
    );
    submit.disabled = acting.sent;
    const node = el("shelve-error");
    node.textContent = this.#dialogText ? this.#dialogText() : "";
    node.hidden = !this.#dialogText;
    this.#labelDurations();
  }

  // Durations beyond the server's MAX_SHELVE_SECONDS would be refused (400): once the dialog
  // knows the limit they are disabled; until then (or without it) the refusal is shown.
  #labelDurations() {
    const select = /** @type {HTMLSelectElement} */ (el("shelve-duration"));
    // A limit below every preset: the limit itself is offered, or nothing could be shelved.
    const fits = DURATIONS.some((seconds) => seconds <= this.#max);
    const most = [...select.options].find((o) => !DURATIONS.includes(Number(o.value)));
    if (!fits && Number.isFinite(this.#max) && !most) {
      select.append(new Option("", String(this.#max)));
    }
    for (const option of select.options) {
      const seconds = Number(option.value);
      if (!DURATIONS.includes(seconds)) {
        option.textContent = t("mostAllowed", { minutes: String(Math.round(seconds / 60)) });
        continue;
      }
      const label = t(/** @type {MessageKey} */ (`duration.${option.value}`));
      option.disabled = seconds > this.#max;
      option.textContent = option.disabled ? t("tooLong", { label }) : label;
    }
    if (select.selectedOptions[0]?.disabled) {
      const allowed = [...select.options].filter((o) => !o.disabled).at(-1);
      if (allowed) select.value = allowed.value;
    }
  }

  /**
   * Cleared already, "until it clears" would never end sooner: the server refuses it, so the box
   * is off and can't be ticked (also when the condition clears while the dialog is open).
   * @param {Condition} c
   */
  #offerUntilCleared(c) {
    const box = /** @type {HTMLInputElement} */ (el("shelve-until-cleared"));
    box.disabled = c.state === "cleared-unacknowledged";
    if (box.disabled) box.checked = false;
  }

  /** @param {HTMLFormElement} form */
  #submitDialog(form) {
    const acting = this.#acting;
    if (!acting || acting.sent) return;
    const data = new FormData(form);
    const comment = String(data.get("comment") ?? "").trim();
    const noted = comment ? { comment } : {};
    const client = this.#clients.get(acting.id);
    let sent;
    if (acting.action === "shelve") {
      const reason = String(data.get("reason") ?? "").trim();
      if (!reason) {
        // Spaces pass `required`: say what is missing, as the browser does for an empty field.
        const input = /** @type {HTMLInputElement} */ (el("shelve-reason"));
        input.setCustomValidity(t("reasonBlank"));
        return void input.reportValidity();
      }
      const untilCleared = data.get("untilCleared") === "on";
      sent = client?.shelve(acting.key, {
        reason,
        durationSeconds: Number(data.get("duration")),
        ...(untilCleared ? { untilCleared } : {}),
        ...noted,
      });
    } else {
      sent = client?.acknowledge(acting.key, noted);
      if (sent) this.#acking.add(rowKey(acting.id, acting.key));
    }
    if (!sent) return this.#dialogError(() => t("notOnline", { id: acting.id }));
    acting.sent = true;
    this.#dialogError(undefined);
    this.#queueRender();
    clearTimeout(this.#answerTimer);
    this.#answerTimer = setTimeout(() => {
      if (this.#acting !== acting || !acting.sent) return;
      acting.sent = false;
      this.#dialogError(() => t("noAnswer"));
    }, ANSWER_MS);
  }

  /** Shows (or hides, with undefined) an error in the dialog. @param {(() => string) | undefined} text */
  #dialogError(text) {
    this.#dialogText = text;
    this.#fillDialog();
  }

  /** The dialog's words after a language switch. */
  retranslate() {
    this.#fillDialog();
  }

  #closeDialog() {
    clearTimeout(this.#answerTimer);
    this.#acting = undefined;
    this.#dialogText = undefined;
    const dialog = /** @type {HTMLDialogElement} */ (el("shelve-dialog"));
    if (dialog.open) dialog.close();
    const opener = this.#opener;
    this.#opener = undefined;
    if (opener) refocus(opener);
  }
}

/**
 * The server's longest shelve (`MAX_SHELVE_SECONDS`), as `/openapi.json` states it for the shelve
 * route; Infinity when it can't be read.
 * @returns {Promise<number>}
 */
async function maxShelveSeconds() {
  try {
    const doc = await (await fetch("/openapi.json")).json();
    const body = doc?.paths?.["/api/conditions/{id}/{key}/shelve"]?.post?.requestBody;
    const max = body?.content?.["application/json"]?.schema?.properties?.durationSeconds?.maximum;
    return typeof max === "number" ? max : Infinity;
  } catch {
    return Infinity;
  }
}
