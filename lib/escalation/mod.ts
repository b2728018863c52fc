/**
 * Escalation: alarms nobody acknowledged in time. Policies say which alarms must be acknowledged
 * within how long and what happens otherwise (`escalation` alarms to other ids, a signed
 * webhook, repeats); deadlines live in the store and every instance's scheduler claims due steps
 * atomically, so each step happens once whatever the number of instances, and after a crash.
 * The {@linkcode Escalation} facade is all other folders see. Imports the store facade, `core`,
 * `observe`.
 *
 * @module
 */
export { type Deadline, Escalation, type EscalationOptions } from "./escalation.ts";
export type { WebhookSettings } from "./webhook.ts";
