/**
 * The escalation scheduler of one instance. Deadlines live in the store (`["due", at, …]`), so
 * every instance sees every deadline, whoever published the alarm and whether or not that
 * instance still runs. Each instance reads what is due, at the earliest due time it knows of and
 * at least every `scanMs` (deadlines written elsewhere), and claims each record atomically: of
 * any number of instances exactly one escalates a step. A claim leaves a leased `fire` record, so
 * an instance killed mid-escalation is replaced by whichever instance finds the lease expired;
 * escalation alarms carry an idempotency key and webhooks an idempotency header, so doing a step
 * again publishes nothing twice.
 *
 * @module
 */
import {
  type Alarm,
  type Clock,
  DueLoop,
  type Policy,
  prepareAlarm,
  type PreparedAlarm,
  stepsOf,
} from "../core/mod.ts";
import { type Logger, type Metrics, reportEscalationFault } from "../observe/mod.ts";
import type { Claim, DueEntry, DueRecord } from "../store/mod.ts";
import { escalationFields, escalationKey, webhookBody } from "./alarm.ts";
import type { PolicyCache } from "./policies.ts";
import { attemptWebhook, backoff, type WebhookSettings } from "./webhook.ts";

/** Publishes an alarm (the hub's publish): idempotent by key. */
export type Publish = (target: string, prepared: PreparedAlarm, key: string) => Promise<unknown>;

/** Escalation deadlines in the store, and the alarms they are about, as the scheduler uses them. */
export interface DeadlineRecords {
  /** Up to `limit` records due at or before `now`, earliest first. */
  dueUpTo(now: number, limit: number): Promise<DueEntry[]>;
  /** When the earliest record due after `now` is due, if any. */
  nextDue(now: number): Promise<number | undefined>;
  /**
   * Claims a deadline unless its alarm was acknowledged (or its condition was, or is shelved at
   * `now`: then `postponed` to when the shelving ends, or to `recheckAt` if sooner, in case it
   * ends early): exactly one caller per entry gets `claimed`, with a fire record leased until
   * `leaseUntil` (and the next step at `next.at`).
   */
  claimDeadline(
    entry: DueEntry,
    leaseUntil: number,
    next: { at: number } | undefined,
    now: number,
    recheckAt: number,
  ): Promise<Claim>;
  /** Moves a record to `at` with `record`, unless someone changed it first. */
  moveDue(entry: DueEntry, at: number, record: DueRecord): Promise<DueEntry | undefined>;
  /** Deletes a record unless someone changed it first; whether it did. */
  removeDue(entry: DueEntry): Promise<boolean>;
  /** Up to `limit` alarms of `target` with seq greater than `after`, in order. */
  read(target: string, after: number, limit: number): Promise<Alarm[]>;
}

/** Dependencies and settings of a {@linkcode Scheduler}. */
export interface SchedulerOptions {
  /** Where deadlines, policies and the original alarms are. */
  store: DeadlineRecords;
  /** This instance's copy of the policies. */
  policies: PolicyCache;
  /** Publishes escalation alarms (the hub's publish). */
  publish: Publish;
  /** Outcomes are counted here. */
  metrics: Metrics;
  logger: Logger;
  /** The time, and timers: injected so tests move time by hand. */
  clock: Clock;
  /** Where and how webhooks are sent. */
  webhooks: WebhookSettings;
  /** Longest pause between two reads of what is due (deadlines written by other instances). */
  scanMs: number;
  /** How long a claimed escalation is this instance's before another may take it over. */
  leaseMs: number;
}

/** Due records read per page. */
const PAGE = 50;
/**
 * How soon a deadline waiting for a shelving is looked at again, at least: a shelving that ends
 * early is seen by then, at a read and a commit per look (the scan interval would be 30 times
 * that with its default).
 */
export const SHELVED_RECHECK_MS = 30_000;
/** Pages per scan at most; the rest waits for the next one. */
const MAX_PAGES = 20;

/** Finds due escalation records and carries them out. */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #loop: DueLoop;
  /** Escalations being carried out, so `stop` can wait for them. */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#loop = new DueLoop(options.clock, options.scanMs, {
      run: (now) => this.#run(now),
      // No policy, nothing to read: a service that doesn't use escalation reads nothing for it.
      next: (now) => this.#idle ? Promise.resolve(undefined) : options.store.nextDue(now),
    }, (error) => this.#fault(error));
  }

  /** Scans now, then at each due time and at least every `scanMs`, until {@linkcode stop}. */
  start(): void {
    this.#loop.start();
  }

  /** Stops scanning and waits for escalations in progress. */
  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Makes sure a scan runs by `at` (a deadline this instance just wrote). */
  wake(at: number): void {
    this.#loop.wake(at);
  }

  /**
   * Carries out every record due now; resolves with how many were handled (claimed, cancelled
   * or moved on). Concurrent calls share one scan, followed by one more.
   */
  scan(): Promise<number> {
    return this.#loop.scan();
  }

  // Records of deleted policies wait until a policy exists again, then go.
  get #idle(): boolean {
    return this.#o.policies.loaded && this.#o.policies.all.length === 0;
  }

  async #run(now: number): Promise<number> {
    if (this.#idle) return 0;
    let handled = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const due = await this.#o.store.dueUpTo(now, PAGE);
      // A policy this instance doesn't know may be one another instance just stored, its watch
      // not here yet: read them all again before taking its records for a deleted policy's.
      if (due.some((e) => this.#o.policies.get(e.record.policy) === undefined)) {
        await this.#o.policies.reload();
      }
      const done = await Promise.all(due.map((entry) => this.#handle(entry, now)));
      handled += done.filter((d) => d).length;
      // A full page with nothing handled would only be read again.
      if (due.length < PAGE || !done.some((d) => d)) break;
    }
    return handled;
  }

  // Whether the record was moved on (by us).
  async #handle(entry: DueEntry, now: number): Promise<boolean> {
    const { store, policies, metrics, leaseMs, scanMs } = this.#o;
    const { record } = entry;
    // Until the policies are read, an unknown name may be one not loaded yet.
    if (!policies.loaded) return false;
    const policy = policies.get(record.policy);
    try {
      if (policy === undefined) {
        // Deleting a policy cancels its pending escalations.
        return await store.removeDue(entry);
      }
      if (record.kind === "deadline") {
        // The next step counts from this escalation: from its deadline, or from now when it
        // comes late (postponed while its condition was shelved, or nobody scanning), so the
        // repeats that would have passed meanwhile don't all follow at once.
        const next = record.step < stepsOf(policy)
          ? { at: Math.max(record.deadline, now) + policy.repeat!.everySeconds * 1000 }
          : undefined;
        // A shelved condition's deadline is looked at again before long: an early unshelve is
        // seen by then.
        const recheck = now + Math.max(scanMs, SHELVED_RECHECK_MS);
        const claim = await store.claimDeadline(entry, now + leaseMs, next, now, recheck);
        if (claim.outcome === "lost") return false;
        if (claim.outcome === "postponed") {
          this.wake(claim.until);
          return true;
        }
        if (claim.outcome === "acknowledged") {
          metrics.escalationsCancelled++;
          return true;
        }
        metrics.escalationsFired++;
        this.#o.logger.log("info", "escalated", {
          target: record.target,
          seq: record.seq,
          policy: record.policy,
          step: record.step,
          lateMs: now - record.deadline,
        });
        if (next) this.wake(next.at);
        this.#track(this.#fire(claim.fire, policy));
        return true;
      }
      // A fire record due: its lease expired (its instance died) or its next attempt is due.
      const leased = await store.moveDue(entry, now + leaseMs, entry.record);
      if (leased === undefined) return false;
      this.#track(this.#fire(leased, policy));
      return true;
    } catch (error) {
      this.#fault(error);
      return false;
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    work.catch((error) => this.#fault(error)).finally(() => this.#inFlight.delete(work));
  }

  // Publishes the escalation alarms (once), then makes one webhook attempt; the record moves to
  // the next attempt's time, or is deleted when done. A failure leaves the lease to expire.
  async #fire(entry: DueEntry, policy: Policy): Promise<void> {
    const { store, clock, metrics, webhooks } = this.#o;
    const { record } = entry;
    const original = await this.#original(record.target, record.seq);
    let current = entry;
    if (!record.published && policy.escalateTo.length > 0) {
      const prepared = prepareAlarm(escalationFields(record, policy, original), clock.now());
      const key = escalationKey(record);
      await Promise.all(policy.escalateTo.map((id) => this.#o.publish(id, prepared, key)));
      if (policy.webhook !== undefined) {
        const marked = await store.moveDue(current, current.at, { ...record, published: true });
        if (marked === undefined) return; // taken over: its new holder carries on
        current = marked;
      }
    }
    if (policy.webhook === undefined) {
      await store.removeDue(current);
      return;
    }
    const now = clock.now();
    const body = webhookBody(record, original, now);
    const result = await attemptWebhook(
      webhooks,
      policy.webhook,
      body,
      escalationKey(record),
      now,
    );
    const attempt = record.attempt + 1;
    if (result.outcome === "retry" && attempt < webhooks.maxAttempts) {
      metrics.webhooksRetried++;
      const at = clock.now() + backoff(webhooks, attempt);
      await store.moveDue(current, at, { ...current.record, attempt, published: true });
      this.wake(at);
      return;
    }
    if (result.outcome === "delivered") metrics.webhooksDelivered++;
    else {
      metrics.webhooksFailed++;
      this.#o.logger.log("warn", "webhook failed", {
        policy: policy.name,
        target: record.target,
        seq: record.seq,
        step: record.step,
        attempts: attempt,
        reason: result.reason,
      });
    }
    await store.removeDue(current);
  }

  async #original(target: string, seq: number): Promise<Alarm | undefined> {
    const [alarm] = await this.#o.store.read(target, seq - 1, 1);
    return alarm?.seq === seq ? alarm : undefined;
  }

  #fault(error: unknown): void {
    reportEscalationFault(this.#o.metrics, this.#o.logger, error);
  }
}
