/**
 * A small JSON Schema (2020-12) validator for the subset `lib/http/openapi.ts` uses: `type`,
 * `const`, `enum`, `properties`, `required`, `additionalProperties`, `minProperties`,
 * `maxProperties`, `items`, `minItems`, `maxItems`, `uniqueItems`, `minLength`, `maxLength`, `pattern`,
 * `format` (`date-time`, `uuid`), `minimum`, `maximum`, `allOf`, `anyOf`, `oneOf`, `not`,
 * boolean schemas and local `$ref`s. Any other keyword throws, so a schema can't use one that
 * is silently ignored here. No dependency: JSR is out of reach and one npm validator would be the
 * only npm package the server tests fetch.
 *
 * @module
 */

/** Keywords that only annotate: they never make a value invalid. */
const ANNOTATIONS = new Set(["description", "title", "default", "examples", "deprecated"]);

const FORMATS: Readonly<Record<string, RegExp>> = {
  // RFC 3339 `date-time`.
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
};

/**
 * The ways `value` fails `schema`, each as `<JSON pointer>: <reason>`; empty when it is valid.
 * `root` is the document `$ref`s point into (`#/components/schemas/…`).
 */
export function validate(schema: unknown, value: unknown, root: unknown = schema): string[] {
  const errors: string[] = [];
  check(schema, value, root, "", errors);
  return errors;
}

function check(schema: unknown, value: unknown, root: unknown, at: string, errors: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    errors.push(`${at || "/"}: no value is allowed here`);
    return;
  }
  if (!isObject(schema)) throw new Error(`Schema at ${at || "/"} is not an object or a boolean`);
  const fail = (reason: string) => errors.push(`${at || "/"}: ${reason}`);
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    switch (keyword) {
      case "$ref":
        check(resolve(root, String(arg)), value, root, at, errors);
        break;
      case "type": {
        const types = Array.isArray(arg) ? arg : [arg];
        if (!types.some((type) => hasType(value, String(type)))) {
          fail(`expected ${types.join(" or ")}, got ${typeName(value)}`);
        }
        break;
      }
      case "const":
        if (!deepEqual(value, arg)) fail(`expected ${JSON.stringify(arg)}`);
        break;
      case "enum":
        if (!asArray(arg, keyword).some((option) => deepEqual(value, option))) {
          fail(`expected one of ${JSON.stringify(arg)}`);
        }
        break;
      case "properties":
        if (isObject(value)) {
          for (const [name, sub] of Object.entries(asObject(arg, keyword))) {
            if (Object.hasOwn(value, name)) check(sub, value[name], root, `${at}/${name}`, errors);
          }
        }
        break;
      case "required":
        if (isObject(value)) {
          for (const name of asArray(arg, keyword)) {
            if (!Object.hasOwn(value, String(name))) fail(`missing property ${name}`);
          }
        }
        break;
      case "additionalProperties":
        if (isObject(value)) {
          const known = isObject(schema.properties) ? schema.properties : {};
          for (const name of Object.keys(value)) {
            if (!Object.hasOwn(known, name)) check(arg, value[name], root, `${at}/${name}`, errors);
          }
        }
        break;
      case "minProperties":
        if (isObject(value) && Object.keys(value).length < asNumber(arg, keyword)) {
          fail(`fewer than ${arg} properties`);
        }
        break;
      case "maxProperties":
        if (isObject(value) && Object.keys(value).length > asNumber(arg, keyword)) {
          fail(`more than ${arg} properties`);
        }
        break;
      case "items":
        if (Array.isArray(value)) {
          value.forEach((item, i) => check(arg, item, root, `${at}/${i}`, errors));
        }
        break;
      case "minItems":
        if (Array.isArray(value) && value.length < asNumber(arg, keyword)) {
          fail(`fewer than ${arg} items`);
        }
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > asNumber(arg, keyword)) {
          fail(`more than ${arg} items`);
        }
        break;
      case "uniqueItems":
        if (
          arg === true && Array.isArray(value) &&
          new Set(value.map((item) => JSON.stringify(item))).size < value.length
        ) fail("items are not unique");
        break;
      // Lengths count code points, as JSON Schema says (not UTF-16 units).
      case "minLength":
        if (typeof value === "string" && [...value].length < asNumber(arg, keyword)) {
          fail(`shorter than ${arg}`);
        }
        break;
      case "maxLength":
        if (typeof value === "string" && [...value].length > asNumber(arg, keyword)) {
          fail(`longer than ${arg}`);
        }
        break;
      case "pattern":
        if (typeof value === "string" && !new RegExp(String(arg), "u").test(value)) {
          fail(`does not match ${arg}`);
        }
        break;
      case "format": {
        const format = FORMATS[String(arg)];
        if (!format) throw new Error(`Unsupported format ${JSON.stringify(arg)} at ${at || "/"}`);
        if (typeof value === "string" && !format.test(value)) fail(`not a ${arg}`);
        break;
      }
      case "minimum":
        if (typeof value === "number" && value < asNumber(arg, keyword)) fail(`below ${arg}`);
        break;
      case "maximum":
        if (typeof value === "number" && value > asNumber(arg, keyword)) fail(`above ${arg}`);
        break;
      case "allOf":
        for (const sub of asArray(arg, keyword)) check(sub, value, root, at, errors);
        break;
      case "anyOf":
        if (!asArray(arg, keyword).some((sub) => validate(sub, value, root).length === 0)) {
          fail("matches none of anyOf");
        }
        break;
      case "oneOf": {
        const matches = asArray(arg, keyword).filter((sub) =>
          validate(sub, value, root).length === 0
        );
        if (matches.length !== 1) fail(`matches ${matches.length} of oneOf, not exactly 1`);
        break;
      }
      case "not":
        if (validate(arg, value, root).length === 0) fail("matches a schema it must not");
        break;
      default:
        throw new Error(`Unsupported keyword ${JSON.stringify(keyword)} at ${at || "/"}`);
    }
  }
}

/** Follows a local reference such as `#/components/schemas/Error`. */
export function resolve(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) throw new Error(`Only local references are supported: ${ref}`);
  let node = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(node) || !Object.hasOwn(node, part)) throw new Error(`Unresolved ${ref}`);
    node = node[part];
  }
  return node;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      throw new Error(`Unknown type ${JSON.stringify(type)}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return Number.isInteger(value) ? "integer" : typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, keyword: string): Record<string, unknown> {
  if (!isObject(value)) throw new Error(`"${keyword}" must be an object`);
  return value;
}

function asArray(value: unknown, keyword: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`"${keyword}" must be an array`);
  return value;
}

function asNumber(value: unknown, keyword: string): number {
  if (typeof value !== "number") throw new Error(`"${keyword}" must be a number`);
  return value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}
