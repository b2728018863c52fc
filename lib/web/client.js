// @ts-check
/**
 * The alarmcast client, for browsers and Deno: one reconnecting `alarms.v1` connection to one id.
 * It heartbeats, reconnects with exponential backoff and full jitter, resumes with `since` from
 * the last seq it saw, drops duplicates by seq, fetches a new token when the old one expired or
 * was refused, and stops on policy violations. Where WebSockets are blocked (the socket fails
 * before opening twice in a row) it falls back to Server-Sent Events, `/events/{id}`, with the
 * same cursor and dedupe, and acknowledges over `POST /api/acks/{id}`.
 *
 * ```js
 * import { AlarmClient } from "https://alarms.example.com/client.js";
 * const client = new AlarmClient({ url: "https://alarms.example.com", id: "plant-3" });
 * client.addEventListener("alarm", (e) => show(e.detail));
 * client.addEventListener("status", (e) => badge(e.detail.status));
 * client.start();
 * ```
 *
 * @module
 */

/** @typedef {"connecting" | "online" | "reconnecting" | "offline"} Status */
/** @typedef {"websocket" | "sse"} Transport */

/**
 * An alarm as published, plus the fields the server adds.
 * @typedef {{ id: string | number, seq: number, target: string, createTime: string | number, [field: string]: unknown }} Alarm
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} url Base URL of the service (`https://…`, `http://…`, `wss://…` or `ws://…`).
 * @property {string} id The id to receive alarms for.
 * @property {string} [token] A connection token, when the server requires one.
 * @property {() => Promise<string | { token: string }>} [getToken] Called for a new token when
 *   the current one is about to expire, expired while connected (4001), or the connection was
 *   refused: the token, or the answer of `POST /api/tokens` (`{ token, expiresAt }`) as is.
 * @property {number} [since] Resume after this seq on the first connection (0: everything
 *   retained). Without it the first connection starts live.
 * @property {string | number | null | undefined} [sinceId] The `id` of the entry at `since`, as an earlier client's
 *   `lastId` gave it: with it, a log that started again since then is told (`reset`) even when it
 *   has grown past `since`.
 * @property {number} [minDelayMs] First reconnect delay cap; default 500.
 * @property {number} [maxDelayMs] Largest reconnect delay cap; default 30000.
 * @property {typeof WebSocket} [WebSocket] WebSocket implementation; default the global one.
 * @property {typeof EventSource} [EventSource] EventSource implementation for the fallback;
 *   default the global one (without one, there is no fallback).
 * @property {Transport[]} [transports] Transports to use, in order; default
 *   `["websocket", "sse"]`. `["sse"]` skips WebSockets altogether.
 * @property {() => number} [random] Jitter source in [0, 1); default `Math.random` (tests pin it).
 */

/**
 * What the server takes from a socket when its welcome doesn't say (`MESSAGE_RATE`,
 * `MESSAGE_BURST`): a client past it is closed with 1008.
 */
const DEFAULT_MESSAGE_RATE = 20;
const DEFAULT_MESSAGE_BURST = 40;

/** Close codes after which retrying can't help: stop and report. */
const FATAL = new Set([1002, 1003, 1007, 1008, 1009, 1010]);
/** Close code of an expired token: fetch a new one, then reconnect. */
const TOKEN_EXPIRED = 4001;
/** Refresh a token this long before it expires. */
const TOKEN_MARGIN_MS = 10_000;
/** WebSocket attempts in a row that fail before opening, after which SSE is used instead. */
const FALLBACK_AFTER = 2;
/**
 * On SSE after a fallback, a WebSocket is tried again this many times `minDelayMs` after the
 * stream opens, then twice as long after each failure, up to `PROBE_MAX_FACTOR` times
 * `maxDelayMs`: a restarted server looks like a blocking proxy for a moment.
 */
const PROBE_FIRST_FACTOR = 10;
const PROBE_MAX_FACTOR = 60;

/**
 * A reconnecting connection to one id. Events: `alarm` (detail: the alarm, each seq once, in
 * order), `status` (detail: `{ status, transport, code?, reason? }`), `error` (detail:
 * `{ code, message, action?, key? }`: `action` and `key` name the condition action refused, or
 * left unanswered when the connection closed, code `unconfirmed`; an `ack` (with `seq`) or a
 * `send` (with `to`) likewise; code `unsent`: any of them still queued when it closed), `message` (detail:
 * `{ from, data }`), `gap` (detail: `{ since, firstAvailable }`), `ack` (detail: `{ id, seq }`:
 * another client of the id acknowledged every alarm up to `seq`, or had before this one
 * connected), `conditions` (detail: the id's active conditions, as `conditions` returns them,
 * after every change), `transition`
 * (detail: `{ seq, transition, condition }`: a condition was acknowledged, shelved, unshelved or
 * cleared), `reset` (detail: `{ seq, lastSeq }`: the id's log is not the one this client saw up
 * to `lastSeq` (its store restored or replaced): the client reads everything it retains again,
 * from the start).
 */
export class AlarmClient extends EventTarget {
  /** @type {Required<Pick<ClientOptions, "minDelayMs" | "maxDelayMs">> & ClientOptions} */
  #options;
  /** @type {Status} */
  #status = "offline";
  /** The transport the last `status` event named. @type {Transport | undefined} */
  #shownTransport;
  /** @type {WebSocket | undefined} */
  #socket;
  /** @type {EventSource | undefined} */
  #events;
  /** @type {Transport} */
  #transport;
  /** WebSocket attempts in a row that failed before opening. */
  #unopened = 0;
  /** On SSE after a fallback: the next try of a WebSocket. @type {ReturnType<typeof setTimeout> | undefined} */
  #probeTimer;
  /** How long before that try (0: none, not on SSE after a fallback). */
  #probeDelayMs = 0;
  /** The WebSocket being tried. @type {WebSocket | undefined} */
  #probe;
  /** The SSE session's id (from its welcome), sent with acks. @type {string | undefined} */
  #sessionId;
  /**
   * Frames sent or queued on the socket and not answered yet, by their `ref`: what to report
   * about one the connection takes with it (an action's `action` and `key`, an `ack`'s `seq`, a
   * `send`'s `to`).
   * @type {Map<number, Record<string, unknown>>}
   */
  #unanswered = new Map();
  #lastRef = 0;
  /** @type {number | undefined} */
  #lastSeq;
  /** The `id` of the entry at `#lastSeq` (an alarm's, or a transition's). @type {string | number | undefined} */
  #lastId;
  /**
   * Frames waiting for the socket's pace (see `#flush`), with their `ref` when they have one.
   * @type {{ text: string, ref?: number }[]}
   */
  #outbox = [];
  /** Sends the socket may make now, its most, per second, and when last counted. */
  #pace = { tokens: 0, most: 0, rate: DEFAULT_MESSAGE_RATE, at: 0 };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #flushTimer;
  /** Conditions by key, each as of its own `seq`. @type {Map<string, any>} */
  #conditions = new Map();
  /** Entries at or below this seq are already in the conditions (the last snapshot's seq). */
  #conditionsAsOf = 0;
  /** @type {string | undefined} */
  #token;
  #attempt = 0;
  #stopped = true;
  #everOnline = false;
  #needToken = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer;

  /** @param {ClientOptions} options */
  constructor(options) {
    super();
    this.#options = { minDelayMs: 500, maxDelayMs: 30_000, ...options };
    this.#transport = (options.transports ?? ["websocket", "sse"])[0] ?? "websocket";
    this.#lastSeq = options.since;
    // Only with the seq it names.
    this.#lastId = options.since === undefined ? undefined : options.sinceId ?? undefined;
    this.#token = options.token;
  }

  /** The connection state. @returns {Status} */
  get status() {
    return this.#status;
  }

  /** What the client connects with now. @returns {Transport} */
  get transport() {
    return this.#transport;
  }

  /** The highest seq received (what a reconnect resumes after). @returns {number | undefined} */
  get lastSeq() {
    return this.#lastSeq;
  }

  /**
   * The `id` of the entry at `lastSeq`, when known: keep it with `lastSeq` and pass both to a
   * later client (`since`, `sinceId`). @returns {string | number | undefined}
   */
  get lastId() {
    return this.#lastId;
  }

  /**
   * The id's conditions in the active list (shelved ones too), most recent first: kept from
   * the snapshot each connection starts with and every change after it.
   * @returns {any[]}
   */
  get conditions() {
    return [...this.#conditions.values()].filter((c) => c.state !== "normal")
      .sort((a, b) => b.lastTime - a.lastTime || b.seq - a.seq);
  }

  /**
   * Acknowledges condition `key` (an operator has seen it).
   * @param {string} key @param {{ comment?: string }} [fields] @returns {boolean} taken (queued for the connection; false: not connected)
   */
  acknowledge(key, fields = {}) {
    return this.#act("acknowledge", key, fields);
  }

  /**
   * Shelves condition `key`: hidden and not escalated until `durationSeconds` pass (or it
   * clears, with `untilCleared`). A reason is required.
   * @param {string} key
   * @param {{ reason: string, durationSeconds?: number, untilCleared?: boolean, comment?: string }} fields
   * @returns {boolean} taken (queued for the connection; false: not connected)
   */
  shelve(key, fields) {
    return this.#act("shelve", key, fields);
  }

  /**
   * Unshelves condition `key` before its time.
   * @param {string} key @param {{ comment?: string }} [fields] @returns {boolean} taken (queued for the connection; false: not connected)
   */
  unshelve(key, fields = {}) {
    return this.#act("unshelve", key, fields);
  }

  /** Connects, and keeps reconnecting until {@linkcode AlarmClient.stop}. */
  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#attempt = 0;
    void this.#connect();
  }

  /** Closes the connection for good; what is still queued or unanswered is dropped, unreported. */
  stop() {
    this.#stopped = true;
    this.#unanswered.clear();
    this.#outbox = [];
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    this.#endProbe();
    this.#socket?.close(1000, "client stop");
    this.#socket = undefined;
    this.#events?.close();
    this.#events = undefined;
    this.#setStatus("offline");
  }

  /**
   * Acknowledges every alarm up to `seq`: on the socket, or over HTTP when on SSE.
   * @param {number} seq @returns {boolean} taken (queued for the connection; false: not connected)
   */
  ack(seq) {
    if (this.#transport === "sse") return this.#ackOverHttp(seq);
    return this.#sendReferred({ type: "ack", seq }, { action: "ack", seq });
  }

  /**
   * Sends `data` to every v1 session of `to` (where the token allows). Not over SSE, which
   * only receives: returns false there.
   * @param {string} to @param {unknown} data @returns {boolean} taken (queued for the connection; false: not connected)
   */
  send(to, data) {
    return this.#sendReferred({ type: "send", to, data }, { action: "send", to });
  }

  /** @param {boolean} [switching] from SSE to a WebSocket that just opened */
  async #connect(switching = false) {
    if (!switching) {
      this.#setStatus(this.#everOnline || this.#attempt > 0 ? "reconnecting" : "connecting");
    }
    const { getToken } = this.#options;
    if (getToken && (this.#needToken || !this.#token || expiresSoon(this.#token))) {
      try {
        this.#token = tokenOf(await getToken());
        this.#needToken = false;
      } catch (error) {
        this.#emit("error", { code: "token_unavailable", message: String(error) });
        return this.#retry();
      }
    }
    if (this.#stopped) return;
    if (this.#transport === "sse") return this.#connectEvents();
    const Socket = this.#options.WebSocket ?? WebSocket;
    let socket;
    try {
      socket = new Socket(this.#socketUrl(), this.#protocols());
    } catch (error) {
      // A token no subprotocol can carry (spaces, say): the server would refuse it anyway.
      if (this.#options.getToken) this.#needToken = true;
      this.#emit("error", { code: "token_unavailable", message: String(error) });
      return this.#retry();
    }
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#unopened = 0;
    };
    // A socket given up (a log that started again) may still have frames on their way: not ours.
    socket.onmessage = (event) => this.#socket === socket && this.#onFrame(event.data);
    // Nothing is sent before the welcome says how fast (see `#flush`).
    this.#pace = { tokens: 0, most: 0, rate: DEFAULT_MESSAGE_RATE, at: 0 };
    socket.onclose = (event) => {
      // Deno reports a connection that just ended (reset, killed peer) as 0: browsers say 1006.
      if (this.#socket === socket) this.#onClose(event.code || 1006, event.reason, opened);
    };
  }

  /** @param {number} code @param {string} reason @param {boolean} opened */
  #onClose(code, reason, opened) {
    clearInterval(this.#pingTimer);
    this.#socket = undefined;
    // Frames still queued go with the socket, never sent; those sent, their answers with it:
    // recorded or not, the next snapshot (or `ack` event) tells.
    for (const { ref } of this.#outbox) {
      const about = ref === undefined ? undefined : this.#unanswered.get(ref);
      if (ref === undefined || !about) continue;
      this.#unanswered.delete(ref);
      this.#emit("error", {
        code: "unsent",
        message: "The connection closed before it was sent",
        ...about,
      });
    }
    this.#outbox = [];
    clearTimeout(this.#flushTimer);
    for (const about of this.#unanswered.values()) {
      this.#emit("error", {
        code: "unconfirmed",
        message: "The connection closed before the server answered",
        ...about,
      });
    }
    this.#unanswered.clear();
    if (this.#stopped) return;
    if (FATAL.has(code)) {
      this.#stopped = true;
      this.#emit("error", { code: "closed", message: `Closed by the server: ${code} ${reason}` });
      this.#setStatus("offline", code, reason);
      return;
    }
    // Refused before opening (a browser can't see the 401/403) or expired: ask for a new token.
    if (code === TOKEN_EXPIRED || (!opened && this.#options.getToken)) this.#needToken = true;
    // Upgrades that never open, again and again: a proxy that blocks WebSockets. Streams are
    // plain HTTP responses and get through; the cursor carries over, so nothing is lost.
    if (!opened && ++this.#unopened >= FALLBACK_AFTER && this.#canUseEvents()) {
      this.#transport = "sse"; // the backoff keeps growing: a refusal looks the same
      this.#probeDelayMs = this.#options.minDelayMs * PROBE_FIRST_FACTOR;
    }
    this.#retry(code, reason);
  }

  #canUseEvents() {
    const allowed = this.#options.transports ?? ["websocket", "sse"];
    return allowed.includes("sse") &&
      (this.#options.EventSource ?? globalThis.EventSource) !== undefined;
  }

  #connectEvents() {
    const Source = this.#options.EventSource ?? EventSource;
    const url = this.#httpUrl("events");
    if (this.#lastSeq !== undefined) url.searchParams.set("since", String(this.#lastSeq));
    if (this.#token) url.searchParams.set("token", this.#token);
    const source = new Source(url.href);
    this.#events = source;
    let opened = false;
    /** @param {Event} event */
    const data = (event) => {
      try {
        return JSON.parse(String(/** @type {MessageEvent} */ (event).data));
      } catch {
        this.#emit("error", { code: "invalid_frame", message: "The server sent invalid JSON" });
        return undefined;
      }
    };
    source.addEventListener("welcome", (event) => {
      const welcome = data(event);
      opened = true;
      if (this.#probeDelayMs > 0 && this.#probeTimer === undefined) this.#scheduleProbe();
      this.#sessionId = typeof welcome?.sessionId === "string" ? welcome.sessionId : undefined;
      this.#welcomed(welcome?.seq, welcome?.conditions, welcome?.sinceId, welcome?.acked);
    });
    source.addEventListener("conditions", (event) => this.#snapshot(data(event)));
    source.addEventListener("condition", (event) => this.#condition(data(event)));
    source.addEventListener("transition", (event) => this.#transition(data(event)));
    source.addEventListener("message", (event) => this.#alarm(data(event)));
    source.addEventListener("gap", (event) => {
      const gap = data(event);
      this.#emit("gap", { since: gap?.since, firstAvailable: gap?.firstAvailable });
    });
    source.addEventListener("ack", (event) => {
      const ack = data(event);
      this.#emit("ack", { id: ack?.id, seq: ack?.seq });
    });
    // The server ends the stream with the close code a socket would get.
    source.addEventListener("close", (event) => {
      const close = data(event);
      if (this.#events !== source) return;
      source.close();
      this.#events = undefined;
      this.#onClose(Number(close?.code) || 1006, String(close?.reason ?? ""), true);
    });
    // Refused, or the connection dropped: EventSource would retry by itself without our cursor
    // or a fresh token, so it is closed and the usual backoff takes over.
    source.onerror = () => {
      if (this.#events !== source) return;
      source.close();
      this.#events = undefined;
      if (!opened && this.#options.getToken) this.#needToken = true;
      this.#retry(1006, "event stream failed");
    };
  }

  // A WebSocket tried beside the stream: if it opens, WebSockets get through (the failures were
  // a restart, not a proxy), so the client goes back to them, resuming from where it is.
  #scheduleProbe() {
    this.#probeTimer = setTimeout(() => {
      if (this.#stopped || this.#transport !== "sse") return this.#endProbe();
      const Socket = this.#options.WebSocket ?? WebSocket;
      let probe;
      try {
        probe = new Socket(this.#socketUrl(), this.#protocols());
      } catch {
        return this.#probeFailed();
      }
      this.#probe = probe;
      probe.onopen = () => {
        if (this.#probe !== probe) return;
        this.#endProbe(); // closes it: the switch connects afresh, resuming as any reconnect
        if (this.#stopped || this.#transport !== "sse") return;
        this.#transport = "websocket";
        this.#unopened = 0;
        this.#events?.close();
        this.#events = undefined;
        clearTimeout(this.#retryTimer);
        this.#attempt = 0;
        // Still online while it switches (a socket just opened): `online` again on its welcome.
        void this.#connect(true);
      };
      probe.onclose = () => this.#probe === probe && this.#probeFailed();
    }, this.#probeDelayMs);
  }

  /** The subprotocols a socket offers: v1, and the token if there is one. */
  #protocols() {
    return ["alarms.v1", ...(this.#token ? [`token.${this.#token}`] : [])];
  }

  #probeFailed() {
    this.#probe = undefined;
    const { maxDelayMs } = this.#options;
    this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, maxDelayMs * PROBE_MAX_FACTOR);
    this.#scheduleProbe();
  }

  #endProbe() {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    this.#probeDelayMs = 0;
    const probe = this.#probe;
    this.#probe = undefined;
    probe?.close(1000, "probe");
  }

  /** @param {number} seq */
  #ackOverHttp(seq) {
    if (this.#events === undefined) return false;
    const body = { seq, ...(this.#sessionId ? { sessionId: this.#sessionId } : {}) };
    this.#post(this.#httpUrl("api/acks"), body, "ack_failed", { action: "ack", seq });
    return true;
  }

  /**
   * POSTs `body` with the token (what a stream can't send); a refusal is emitted as an `error`
   * with the server's code, or `failed` when there is none, and `about` (the action).
   * @param {URL} url @param {unknown} body @param {string} failed
   * @param {Record<string, unknown>} [about]
   */
  #post(url, body, failed, about) {
    /** @type {Record<string, string>} */
    const headers = { "content-type": "application/json" };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    fetch(url.href, { method: "POST", headers, body: JSON.stringify(body) }).then(
      async (response) => {
        if (response.ok) return void await response.body?.cancel();
        const answer = await response.json().catch(() => undefined);
        this.#emit("error", {
          code: answer?.error?.code ?? failed,
          message: answer?.error?.message ?? `Refused: ${response.status}`,
          ...about,
        });
      },
    ).catch((error) => this.#emit("error", { code: failed, message: String(error), ...about }));
  }

  /** Connects again at once, from `#lastSeq` (after a reset: from the start). */
  #restart() {
    if (this.#transport === "sse") {
      this.#events?.close();
      this.#events = undefined;
      return this.#retry(1000, "log reset");
    }
    const socket = this.#socket;
    this.#socket = undefined; // its close is ours, not the server's
    // What it still brings (the old log's replay) is not read.
    if (socket) socket.onmessage = null;
    socket?.close(1000, "log reset");
    this.#onClose(1000, "log reset", true);
  }

  /** @param {number} [code] @param {string} [reason] */
  #retry(code, reason) {
    if (this.#stopped) return;
    this.#setStatus("reconnecting", code, reason);
    // Full jitter: a random delay up to a cap that doubles per attempt, so a restarted server
    // is not hit by every client at once, and a refused one never in a hot loop.
    const { minDelayMs, maxDelayMs } = this.#options;
    const cap = Math.min(maxDelayMs, minDelayMs * 2 ** this.#attempt++);
    const random = this.#options.random ?? Math.random;
    this.#retryTimer = setTimeout(() => void this.#connect(), random() * cap);
  }

  /** @param {unknown} data */
  #onFrame(data) {
    let message;
    try {
      message = JSON.parse(String(data));
    } catch {
      return this.#emit("error", {
        code: "invalid_frame",
        message: "The server sent invalid JSON",
      });
    }
    switch (message?.type) {
      case "welcome":
        this.#startPings(message.heartbeatInterval);
        // Frames queued before it go only to the log this client saw: checked first.
        if (this.#welcomed(message.seq, message.conditions, message.sinceId, message.acked)) {
          this.#paceFrom(message.messageRate, message.messageBurst);
        }
        break;
      case "alarm":
        if (message.condition) this.#condition(message.condition);
        this.#alarm(message.alarm);
        break;
      case "conditions":
        this.#snapshot(message);
        break;
      case "transition":
        this.#transition(message);
        break;
      case "gap":
        this.#emit("gap", { since: message.since, firstAvailable: message.firstAvailable });
        break;
      case "ack":
        this.#emit("ack", { id: message.id, seq: message.seq });
        break;
      case "message":
        this.#emit("message", { from: message.from, data: message.data });
        break;
      case "ok":
        this.#unanswered.delete(message.ref);
        break;
      case "error": {
        const about = this.#unanswered.get(message.ref);
        this.#unanswered.delete(message.ref);
        this.#emit("error", { code: message.code, message: message.message, ...about });
        break;
      }
    }
  }

  /**
   * Online: the id's head was `seq`; `conditions` says how many active conditions the snapshot
   * that follows holds (none when absent); `sinceId`, the `id` of the entry at our `since` now;
   * `acked`, how far the id's alarms were acknowledged. False when the log started again (then
   * it is read again from the start).
   * @param {unknown} seq @param {unknown} conditions @param {unknown} sinceId
   * @param {unknown} acked @returns {boolean}
   */
  #welcomed(seq, conditions, sinceId, acked) {
    this.#attempt = 0;
    this.#everOnline = true;
    if (conditions === undefined) this.#snapshot({ seq, conditions: [] });
    // First connection without `since`: from now on, resume after the head we were told (whose
    // entry we never saw).
    if (this.#lastSeq === undefined && typeof seq === "number") {
      this.#lastSeq = seq;
      this.#lastId = undefined;
    }
    // Behind what we saw, or another alarm where we saw ours: the id's log started again (its
    // store restored, replaced, or in memory and restarted), and its seqs are not what we saw.
    // Everything it retains is read again, from the start: some twice rather than any missed.
    const behind = typeof seq === "number" && this.#lastSeq !== undefined && seq < this.#lastSeq;
    // As text: an id kept in storage or a URL comes back a string (`42` for `"id": 42`).
    const other = sinceId !== undefined && this.#lastId !== undefined &&
      String(sinceId) !== String(this.#lastId);
    if (behind || other) {
      this.#emit("reset", { seq, lastSeq: this.#lastSeq });
      this.#lastSeq = 0;
      this.#lastId = undefined;
      this.#restart();
      return false;
    }
    // How far the id's alarms were acknowledged before: as if another client just did.
    if (typeof acked === "number") this.#emit("ack", { id: this.#options.id, seq: acked });
    this.#setStatus("online");
    return true;
  }

  /** Replaces the conditions with a snapshot taken at `seq` or later. @param {any} snapshot */
  #snapshot(snapshot) {
    if (!Array.isArray(snapshot?.conditions)) return;
    this.#conditions = new Map(snapshot.conditions.map((/** @type {any} */ c) => [c.key, c]));
    this.#conditionsAsOf = typeof snapshot.seq === "number" ? snapshot.seq : 0;
    this.#emit("conditions", this.conditions);
  }

  /** Applies a condition as an entry left it, if newer than what is known. @param {any} c */
  #condition(c) {
    if (typeof c?.key !== "string" || typeof c.seq !== "number") return;
    if (c.seq <= this.#conditionsAsOf || c.seq <= (this.#conditions.get(c.key)?.seq ?? 0)) return;
    // An entry's view lacks the alarm; the last one known stays.
    this.#conditions.set(c.key, { alarm: this.#conditions.get(c.key)?.alarm, ...c });
    this.#emit("conditions", this.conditions);
  }

  /** A condition changed: applied, and emitted once (by seq). @param {any} message */
  #transition(message) {
    if (typeof message?.seq !== "number" || message.seq <= (this.#lastSeq ?? 0)) return;
    this.#lastSeq = message.seq;
    // Servers before 0.8.3 send none: then only a shorter log is told.
    this.#lastId = idOf(message.id);
    this.#condition(message.condition);
    this.#emit("transition", {
      seq: message.seq,
      transition: message.transition,
      condition: message.condition,
    });
  }

  /**
   * Acts on a condition: on the socket, or over HTTP when on SSE.
   * @param {string} action @param {string} key @param {Record<string, unknown>} fields
   */
  #act(action, key, fields) {
    if (this.#transport !== "sse") {
      return this.#sendReferred({ ...fields, type: action, key }, { action, key });
    }
    if (this.#events === undefined) return false;
    const url = this.#httpUrl("api/conditions");
    url.pathname += `/${encodeURIComponent(key)}/${action}`;
    this.#post(url, fields, "action_failed", { action, key });
    return true;
  }

  /** Emits `alarm` unless it was seen before (by seq). @param {any} alarm */
  #alarm(alarm) {
    if (typeof alarm?.seq !== "number" || alarm.seq <= (this.#lastSeq ?? 0)) return; // duplicate
    this.#lastSeq = alarm.seq;
    this.#lastId = idOf(alarm.id);
    // The raise's entry carried the condition without its alarm: this is it (level, message).
    const raised = typeof alarm.key === "string" ? this.#conditions.get(alarm.key) : undefined;
    if (raised?.raiseSeq === alarm.seq) {
      this.#conditions.set(alarm.key, { ...raised, alarm });
      this.#emit("conditions", this.conditions);
    }
    this.#emit("alarm", alarm);
  }

  /** @param {unknown} interval */
  #startPings(interval) {
    clearInterval(this.#pingTimer);
    const ms = typeof interval === "number" && interval > 0 ? interval : 30_000;
    this.#pingTimer = setInterval(() => this.#sendJson({ type: "ping" }), ms);
  }

  /**
   * The socket's pace from its welcome: half the burst the server takes, at half its rate, so
   * frames the network delays and delivers bunched still fit (past it, the server closes with
   * 1008); a burst of 1 leaves no room for two delivered together.
   * @param {unknown} rate @param {unknown} burst
   */
  #paceFrom(rate, burst) {
    const r = typeof rate === "number" && rate > 0 ? rate : DEFAULT_MESSAGE_RATE;
    const b = typeof burst === "number" && burst > 0 ? burst : DEFAULT_MESSAGE_BURST;
    const most = Math.max(1, Math.floor(b / 2));
    // And at most `2 * most` (the burst) in any 100 ms: a connection may hold back small frames
    // that long (Nagle's algorithm and delayed ACKs), and then they arrive together.
    this.#pace = { tokens: most, most, rate: Math.min(r / 2, most * 10), at: performance.now() };
    this.#flush();
  }

  /** Queues `value` for the socket; false when there is no open one. @param {unknown} value */
  #sendJson(value) {
    return this.#queue(JSON.stringify(value));
  }

  /**
   * Queues `value` with a `ref`, so its answer (or the lack of one) is reported with `about`.
   * @param {Record<string, unknown>} value @param {Record<string, unknown>} about
   */
  #sendReferred(value, about) {
    const ref = ++this.#lastRef;
    const queued = this.#queue(JSON.stringify({ ...value, ref }), ref);
    if (queued) this.#unanswered.set(ref, about);
    return queued;
  }

  /** @param {string} text @param {number} [ref] */
  #queue(text, ref) {
    if (this.#socket?.readyState !== 1) return false;
    this.#outbox.push(ref === undefined ? { text } : { text, ref });
    this.#flush();
    return true;
  }

  /**
   * Sends what the pace allows now, and comes back for the rest: acting on a whole list of
   * conditions at once must not break the server's message limit.
   */
  #flush() {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const socket = this.#socket;
    if (socket?.readyState !== 1 || this.#outbox.length === 0) return;
    const pace = this.#pace;
    const now = performance.now();
    pace.tokens = Math.min(pace.most, pace.tokens + (now - pace.at) * pace.rate / 1000);
    pace.at = now;
    while (this.#outbox.length > 0 && pace.tokens >= 1) {
      socket.send(/** @type {{ text: string }} */ (this.#outbox.shift()).text);
      pace.tokens--;
    }
    // Before the welcome (`most` 0) the welcome flushes; after it, when the next token is due.
    if (this.#outbox.length > 0 && pace.most > 0) {
      const wait = Math.ceil((1 - pace.tokens) * 1000 / pace.rate);
      this.#flushTimer = setTimeout(() => this.#flush(), wait);
    }
  }

  /** `<url>/<route>/<id>` over HTTP(S), whichever scheme `url` was given in. @param {string} route */
  #httpUrl(route) {
    const url = new URL(`/${route}/${encodeURIComponent(this.#options.id)}`, this.#options.url);
    if (url.protocol === "wss:" || url.protocol === "ws:") {
      url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    }
    return url;
  }

  #socketUrl() {
    const url = new URL(`/websocket/${encodeURIComponent(this.#options.id)}`, this.#options.url);
    url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
    if (this.#lastSeq !== undefined) url.searchParams.set("since", String(this.#lastSeq));
    return url.href;
  }

  /** @param {Status} status @param {number} [code] @param {string} [reason] */
  #setStatus(status, code, reason) {
    const transport = this.#transport;
    if (status === this.#status && transport === this.#shownTransport && code === undefined) {
      return;
    }
    this.#status = status;
    this.#shownTransport = transport;
    this.#emit("status", { status, transport, ...(code === undefined ? {} : { code, reason }) });
  }

  /** @param {string} type @param {unknown} detail */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * The token in what `getToken` gave: the token itself, or an object holding it (`{ token }`).
 * @param {unknown} given @returns {string}
 */
function tokenOf(given) {
  const token = typeof given === "object" && given !== null && "token" in given
    ? given.token
    : given;
  if (typeof token === "string" && token !== "") return token;
  throw new Error("getToken gave no token: return the token, or the answer of POST /api/tokens");
}

/**
 * Whether a JWT expires within the refresh margin (unreadable tokens are left to the server).
 * @param {string} token
 */
function expiresSoon(token) {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof claims.exp === "number" && claims.exp * 1000 - Date.now() < TOKEN_MARGIN_MS;
  } catch {
    return false;
  }
}

/** An entry's `id` as the server sends it (a string or a number), else none. @param {unknown} id */
function idOf(id) {
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}
