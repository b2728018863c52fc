/**
 * `/api/policies[/{name}]`: escalation policies, behind the API key. `PUT` creates or replaces
 * one (201 or 200, with the policy as stored), `GET` reads one or lists them all, `DELETE`
 * removes one with its pending escalations (204). Validation errors are 400s from `core`; a new
 * policy past the store's limit is a 409. The route table (`routes.ts`) maps methods to these.
 *
 * @module
 */
import { InvalidInput, isValidId, type JsonObject, quote } from "../core/mod.ts";
import type { Escalation } from "../escalation/mod.ts";
import { HttpError, jsonResponse } from "./errors.ts";

/** `GET /api/policies`: every policy. */
export async function listPolicies(escalation: Escalation): Promise<Response> {
  return jsonResponse({ policies: await escalation.list() });
}

/** `GET /api/policies/{name}`. */
export async function getPolicy(escalation: Escalation, rawName: string): Promise<Response> {
  const name = policyName(rawName);
  const policy = await escalation.get(name);
  if (policy === undefined) throw missing(name);
  return jsonResponse(policy);
}

/** `PUT /api/policies/{name}`: the name is checked before the body is read. */
export async function putPolicy(
  escalation: Escalation,
  rawName: string,
  body: () => Promise<JsonObject>,
): Promise<Response> {
  const name = policyName(rawName);
  const input = await body();
  // A well-formed policy the store has no room for conflicts with its state: 409.
  const { policy, created } = await escalation.put(name, input).catch((error) => {
    if (error instanceof InvalidInput && error.code === "too_many_policies") {
      throw new HttpError(409, error.code, error.message);
    }
    throw error;
  });
  return jsonResponse(policy, created ? 201 : 200);
}

/** `DELETE /api/policies/{name}`: 204, or 404 when there is none. */
export async function deletePolicy(escalation: Escalation, rawName: string): Promise<Response> {
  const name = policyName(rawName);
  if (!(await escalation.delete(name))) throw missing(name);
  return new Response(null, { status: 204 });
}

function policyName(name: string): string {
  if (!isValidId(name)) {
    throw new HttpError(400, "invalid_id", `Policy name ${quote(name)} is not a valid id`);
  }
  return name;
}

function missing(name: string): HttpError {
  return new HttpError(404, "not_found", `No policy named ${quote(name)}`);
}
