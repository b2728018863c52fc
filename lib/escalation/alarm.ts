/**
 * What an escalation says: the `escalation` alarm published to a policy's ids (an ordinary alarm
 * object, so the old page shows it like any other) and the webhook body. Pure functions of the
 * original alarm, the policy and the step.
 *
 * @module
 */
import type { Alarm, JsonObject, Policy } from "../core/mod.ts";
import type { DueRecord } from "../store/mod.ts";

/** Longest text taken over from the original alarm's message. */
const MAX_TEXT = 500;

/** The reference an escalation carries to the alarm it escalates. */
export interface EscalationRef {
  policy: string;
  step: number;
  /** The original's target id and seq: what identifies it. */
  target: string;
  seq: number;
  /** The original's alarm `id`, when it is still stored. */
  alarmId?: string | number;
  /** This step's deadline, ISO-8601. */
  deadline: string;
}

/** The reference to the original of escalation `record`. */
export function escalationRef(record: DueRecord, original: Alarm | undefined): EscalationRef {
  return {
    policy: record.policy,
    step: record.step,
    target: record.target,
    seq: record.seq,
    ...(original === undefined ? {} : { alarmId: original.id }),
    deadline: new Date(record.deadline).toISOString(),
  };
}

/**
 * The fields of the `escalation` alarm for `record` (the original, if still stored, gives its
 * level, device and message).
 */
export function escalationFields(
  record: DueRecord,
  policy: Policy,
  original: Alarm | undefined,
): JsonObject {
  const level = original?.level;
  const device = original?.device;
  const text = original?.message;
  const waited = policy.ackWithinSeconds +
    (record.step - 1) * (policy.repeat?.everySeconds ?? 0);
  const what = `${record.target} #${record.seq} not acknowledged within ${waited} s`;
  return {
    level: typeof level === "string" || typeof level === "number" ? level : "critical",
    kind: "escalation",
    message: typeof text === "string" ? `${what}: ${text.slice(0, MAX_TEXT)}` : what,
    ...(typeof device === "string" ? { device } : {}),
    escalation: { ...escalationRef(record, original) },
  };
}

/** The webhook body of escalation `record`, escalated at `now`. */
export function webhookBody(record: DueRecord, original: Alarm | undefined, now: number): string {
  return JSON.stringify({
    type: "escalation",
    escalation: escalationRef(record, original),
    escalatedAt: new Date(now).toISOString(),
    alarm: original ?? null,
  });
}

/** The idempotency key of escalation `record`: the same on every attempt and every instance. */
export function escalationKey(record: DueRecord): string {
  return `escalation/${record.policy}/${record.target}/${record.seq}/${record.step}`;
}

/** Whether `fields` are an escalation's own (never escalated again). */
export function isEscalation(fields: JsonObject): boolean {
  return fields.kind === "escalation" && typeof fields.escalation === "object" &&
    fields.escalation !== null;
}
