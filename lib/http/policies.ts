/**
 * `/api/policies[/{name}]`: escalation policies, behind the API key. `PUT` creates or replaces
 * one (201 or 200, with the policy as stored), `GET` reads one or lists them all, `DELETE`
 * removes one with its pending escalations (204). Validation errors are 400s from `core`; a new
 * policy past the store's limit is a 409.
 *
 * @module
 */
import { InvalidInput, isValidId, type JsonObject, quote } from "../core/mod.ts";
import type { Escalation } from "../escalation/mod.ts";
import { HttpError, jsonResponse } from "./errors.ts";
import { allow } from "./request.ts";

/** Routes a request under `/api/policies`; `name` is the path segment after it, if any. */
export async function policyRoute(
  req: Request,
  name: string | undefined,
  escalation: Escalation,
  body: () => Promise<JsonObject>,
): Promise<Response> {
  if (name === undefined || name === "") {
    allow(req, "GET");
    return jsonResponse({ policies: await escalation.list() });
  }
  if (!isValidId(name)) {
    throw new HttpError(400, "invalid_id", `Policy name ${quote(name)} is not a valid id`);
  }
  if (req.method === "PUT") {
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
  if (req.method === "DELETE") {
    if (!(await escalation.delete(name))) throw missing(name);
    return new Response(null, { status: 204 });
  }
  allow(req, "GET", "GET, PUT, DELETE");
  const policy = await escalation.get(name);
  if (policy === undefined) throw missing(name);
  return jsonResponse(policy);
}

function missing(name: string): HttpError {
  return new HttpError(404, "not_found", `No policy named ${quote(name)}`);
}
