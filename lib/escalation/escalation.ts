/**
 * The escalation facade: policies (validated, stored, cached), the deadline an alarm gets when
 * it is published (an in-memory lookup; an alarm no policy covers costs nothing more), and the
 * scheduler that escalates what nobody acknowledged in time.
 *
 * @module
 */
import {
  decodePolicy,
  InvalidInput,
  type JsonObject,
  MAX_POLICIES,
  type Policy,
  type PreparedAlarm,
} from "../core/mod.ts";
import { reportEscalationFault } from "../observe/mod.ts";
import type { DueSpec } from "../store/mod.ts";
import { isEscalation } from "./alarm.ts";
import { PolicyCache, type PolicyRecords } from "./policies.ts";
import { type DeadlineRecords, Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { webhookAllowed } from "./webhook.ts";

/** Dependencies and settings of {@linkcode Escalation}: the scheduler's, and the store's deadline. */
export interface EscalationOptions
  extends Omit<SchedulerOptions, "policies" | "leaseMs" | "store"> {
  /** Where policies and deadlines are, and the alarms the deadlines are about. */
  store: DeadlineRecords & PolicyRecords;
  /** Store call deadline: a claimed escalation's lease covers it and a webhook attempt. */
  storeTimeoutMs: number;
}

/** An alarm with its deadline: the alarm stamped with `ackBy`, and the record to store. */
export interface Deadline {
  prepared: PreparedAlarm;
  due: DueSpec;
}

/** Escalation policies and the scheduler of one instance. */
export class Escalation {
  readonly #o: EscalationOptions;
  readonly #policies: PolicyCache;
  readonly #scheduler: Scheduler;

  constructor(options: EscalationOptions) {
    this.#o = options;
    const onError = (error: unknown) =>
      reportEscalationFault(options.metrics, options.logger, error);
    this.#policies = new PolicyCache(options.store, options.clock, onError);
    this.#scheduler = new Scheduler({
      ...options,
      policies: this.#policies,
      leaseMs: options.webhooks.timeoutMs + 3 * options.storeTimeoutMs,
    });
  }

  /** Loads the policies and starts the scheduler (which waits for the policies if that failed). */
  async start(): Promise<void> {
    try {
      await this.#policies.start();
    } finally {
      this.#scheduler.start();
    }
  }

  /** Stops following policies and scanning; waits for escalations in progress. */
  async stop(): Promise<void> {
    this.#policies.stop();
    await this.#scheduler.stop();
  }

  /**
   * The deadline of an alarm of `target` (from the first policy by name that covers it), with
   * the alarm stamped `ackBy` (ISO-8601); `undefined` when no policy covers it. No I/O.
   */
  deadlineFor(target: string, prepared: PreparedAlarm): Deadline | undefined {
    const policy = this.#policies.match(target, prepared.fields);
    if (policy === undefined || isEscalation(prepared.fields)) return undefined;
    const at = this.#o.clock.now() + policy.ackWithinSeconds * 1000;
    const ackBy = new Date(at).toISOString();
    return {
      prepared: { fields: { ...prepared.fields, ackBy }, bytes: prepared.bytes + 40 },
      due: { at, policy: policy.name },
    };
  }

  /** Tells the scheduler of a deadline just stored, so it fires on time here. */
  scheduled(at: number): void {
    this.#scheduler.wake(at);
  }

  /** Carries out whatever is due now; how many records it handled. Tests call it directly. */
  scan(): Promise<number> {
    return this.#scheduler.scan();
  }

  /** Validates and stores policy `name` from `body`; whether it is new. */
  async put(name: string, body: JsonObject): Promise<{ policy: Policy; created: boolean }> {
    const policy = decodePolicy(name, body, (url) => webhookAllowed(this.#o.webhooks, url));
    if (policy.webhook !== undefined && this.#o.webhooks.secret === undefined) {
      throw new InvalidInput("webhook_not_allowed", "Webhooks need WEBHOOK_SECRET to be set");
    }
    const existing = await this.#o.store.listPolicies();
    const created = !existing.some((p) => p.name === name);
    if (created && existing.length >= MAX_POLICIES) {
      throw new InvalidInput(
        "too_many_policies",
        `The store holds ${MAX_POLICIES} policies at most`,
      );
    }
    await this.#o.store.putPolicy(policy);
    this.#policies.set(policy);
    return { policy, created };
  }

  /** Policy `name` as stored, if any. */
  async get(name: string): Promise<Policy | undefined> {
    return (await this.#o.store.listPolicies()).find((p) => p.name === name);
  }

  /** Every stored policy, by name. */
  list(): Promise<Policy[]> {
    return this.#o.store.listPolicies();
  }

  /** Deletes policy `name` (and so its pending escalations); whether it existed. */
  async delete(name: string): Promise<boolean> {
    const existed = await this.#o.store.deletePolicy(name);
    this.#policies.delete(name);
    return existed;
  }
}
