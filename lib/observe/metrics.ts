/**
 * Counters for `/metrics`, rendered in the Prometheus text format. Plain numeric fields, so the
 * per-frame cost is one increment; the `errors` map is touched only when something goes wrong.
 *
 * @module
 */

/** Gauges read at scrape time from whoever owns the state. */
export interface Gauges {
  /** Open sessions. */
  sessions: number;
  /** Sessions the server closed whose peer has not let go of the connection yet. */
  closing: number;
  /** Distinct ids with at least one session. */
  ids: number;
  /** KV watch streams open (a small constant, whatever the number of ids). */
  watches: number;
  /** 1 while other isolates' alarms are followed through the store's change feed, else 0. */
  following: number;
  /** The process's memory (`Deno.memoryUsage()`): tells V8 heap from native growth. */
  memory: Deno.MemoryUsage;
  /** Ids with more than 10 alarms published here in the last 10 minutes (a flood). */
  floods: number;
  /** Conditions raised here 3 or more times within a minute. */
  chattering: number;
  /**
   * The ids published to here most in the last 10 minutes (at most {@linkcode MAX_ID_SERIES}):
   * alarms in the window (counted up to 200) and chattering conditions of each.
   */
  busiest: readonly { id: string; alarms: number; chattering: number }[];
}

/** Ids given series of their own in `/metrics`, at most: the busiest, so the series stay few. */
export const MAX_ID_SERIES = 100;

/**
 * Error kinds and condition actions shown at 0 from the start: an alert on `increase()` or
 * `rate()` of a series that appeared with its first error would miss that first burst.
 */
const WATCHED_ERRORS = [
  "store_unavailable",
  "too_many_conditions",
  "internal",
  "socket_handler",
  "escalation",
];
const CONDITION_ACTIONS = ["acknowledge", "shelve", "unshelve", "clear", "expire"];

/** Process-wide counters. */
export class Metrics {
  /** Frames received from clients. */
  framesIn = 0;
  /** Frames sent to clients. */
  framesOut = 0;
  /** Alarms accepted by the publish API. */
  alarmsPublished = 0;
  /** Sends skipped because the socket was no longer open, or that failed. */
  sendsDropped = 0;
  /** Sockets closed because their `bufferedAmount` passed the threshold. */
  slowConsumerCloses = 0;
  /** Sessions opened since start. */
  sessionsOpened = 0;
  /** Escalation steps this instance claimed and carried out. */
  escalationsFired = 0;
  /** Escalation deadlines this instance found acknowledged in time. */
  escalationsCancelled = 0;
  /** Webhook attempts answered 2xx. */
  webhooksDelivered = 0;
  /** Webhook attempts that failed and will be tried again. */
  webhooksRetried = 0;
  /** Webhooks given up on (refused, or out of attempts). */
  webhooksFailed = 0;
  readonly #errors = new Map<string, number>(WATCHED_ERRORS.map((kind) => [kind, 0]));
  readonly #conditionChanges = new Map<string, number>(CONDITION_ACTIONS.map((a) => [a, 0]));

  /** Counts one change of a condition by `action` (acknowledge, shelve, unshelve, clear, expire). */
  conditionChanged(action: string): void {
    this.#conditionChanges.set(action, (this.#conditionChanges.get(action) ?? 0) + 1);
  }

  /** Counts one error of `kind` (a stable snake_case code). */
  error(kind: string): void {
    this.#errors.set(kind, (this.#errors.get(kind) ?? 0) + 1);
  }

  /** The count of errors of `kind`. */
  errorCount(kind: string): number {
    return this.#errors.get(kind) ?? 0;
  }

  /** Renders every metric in the Prometheus text exposition format (version 0.0.4). */
  render(gauges: Gauges): string {
    const single: [string, string, string, number][] = [
      ["sessions_open", "gauge", "Open WebSocket sessions.", gauges.sessions],
      ["sessions_closing", "gauge", "Closed by the server, connection not gone.", gauges.closing],
      ["ids_online", "gauge", "Ids with at least one open session.", gauges.ids],
      ["kv_watches", "gauge", "KV watch streams open.", gauges.watches],
      ["feed_following", "gauge", "1 while other isolates' alarms are followed.", gauges.following],
      ["alarm_floods", "gauge", "Ids with over 10 alarms in 10 minutes, here.", gauges.floods],
      [
        "conditions_chattering",
        "gauge",
        "Conditions raised 3+ times in a minute, here.",
        gauges.chattering,
      ],
      ["sessions_opened_total", "counter", "Sessions opened since start.", this.sessionsOpened],
      ["frames_in_total", "counter", "Frames received from clients.", this.framesIn],
      ["frames_out_total", "counter", "Frames sent to clients.", this.framesOut],
      ["alarms_published_total", "counter", "Alarms accepted for delivery.", this.alarmsPublished],
      ["sends_dropped_total", "counter", "Sends skipped or failed.", this.sendsDropped],
      ["slow_consumer_closes_total", "counter", "Sockets closed as slow.", this.slowConsumerCloses],
      ["memory_rss_bytes", "gauge", "Resident memory of the process.", gauges.memory.rss],
      ["memory_heap_used_bytes", "gauge", "V8 heap in use.", gauges.memory.heapUsed],
      ["memory_heap_total_bytes", "gauge", "V8 heap reserved.", gauges.memory.heapTotal],
      [
        "memory_external_bytes",
        "gauge",
        "Memory held outside the V8 heap.",
        gauges.memory.external,
      ],
    ];
    const lines: string[] = [];
    for (const [name, type, help, value] of single) {
      lines.push(`# HELP alarmcast_${name} ${help}`, `# TYPE alarmcast_${name} ${type}`);
      lines.push(`alarmcast_${name} ${value}`);
    }
    const labelled: [string, string, [string, number][]][] = [
      ["escalations_total", "Escalation deadlines reached, by outcome.", [
        ["escalated", this.escalationsFired],
        ["acknowledged", this.escalationsCancelled],
      ]],
      ["webhooks_total", "Escalation webhook attempts, by outcome.", [
        ["delivered", this.webhooksDelivered],
        ["retried", this.webhooksRetried],
        ["failed", this.webhooksFailed],
      ]],
    ];
    for (const [name, help, values] of labelled) {
      lines.push(`# HELP alarmcast_${name} ${help}`, `# TYPE alarmcast_${name} counter`);
      for (const [outcome, value] of values) {
        lines.push(`alarmcast_${name}{outcome="${outcome}"} ${value}`);
      }
    }
    // Ids are `[A-Za-z0-9_.:-]`: safe as label values as they are.
    lines.push(
      "# HELP alarmcast_id_alarms Alarms published here to an id in the last 10 minutes (to 200).",
      "# TYPE alarmcast_id_alarms gauge",
      ...gauges.busiest.map((r) => `alarmcast_id_alarms{id="${r.id}"} ${r.alarms}`),
      "# HELP alarmcast_id_conditions_chattering An id's conditions raised here 3+ times a minute.",
      "# TYPE alarmcast_id_conditions_chattering gauge",
      ...gauges.busiest.map((r) =>
        `alarmcast_id_conditions_chattering{id="${r.id}"} ${r.chattering}`
      ),
    );
    lines.push(
      "# HELP alarmcast_condition_changes_total Changes of conditions, by action.",
      "# TYPE alarmcast_condition_changes_total counter",
    );
    for (const action of [...this.#conditionChanges.keys()].sort()) {
      const n = this.#conditionChanges.get(action);
      lines.push(`alarmcast_condition_changes_total{action="${action}"} ${n}`);
    }
    lines.push(
      "# HELP alarmcast_errors_total Errors by kind.",
      "# TYPE alarmcast_errors_total counter",
    );
    for (const kind of [...this.#errors.keys()].sort()) {
      lines.push(`alarmcast_errors_total{kind="${kind}"} ${this.#errors.get(kind)}`);
    }
    return lines.join("\n") + "\n";
  }
}
