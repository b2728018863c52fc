import { assert, assertEquals } from "@std/assert";
import { type Config, DEFAULT_CONFIG } from "../config.ts";
import { openApiDocument } from "./openapi.ts";
import { allowedMethods, Router } from "./router.ts";
import { ROUTES } from "./routes.ts";
import { ASSETS } from "./static.ts";

const CONFIGS: Partial<Config>[] = [
  {},
  {
    apiKey: "k".repeat(32),
    tokenSecrets: ["s".repeat(32)],
    allowedOrigins: ["https://a.example"],
    webhookSecret: "w".repeat(32),
    webhookAllowedOrigins: ["https://hooks.example"],
  },
];

// deno-lint-ignore no-explicit-any
type Doc = any;

Deno.test("routes: the document lists exactly the table's paths and methods, in its order", () => {
  new Router(ROUTES); // compiles: no malformed or repeated template
  for (const config of CONFIGS) {
    const doc: Doc = openApiDocument({ ...DEFAULT_CONFIG, ...config }, ROUTES);
    assertEquals(Object.keys(doc.paths), ROUTES.map((route) => route.path));
    for (const route of ROUTES) {
      const documented = Object.keys(doc.paths[route.path]).filter((k) => k !== "parameters");
      const expected = allowedMethods(route).map((m) => m.toLowerCase());
      assertEquals(documented.toSorted(), expected.toSorted(), route.path);
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].length;
      assertEquals(doc.paths[route.path].parameters?.length ?? 0, params, route.path);
    }
  }
});

Deno.test("routes: the routes behind the key document it, and none outside /api/ does", () => {
  const doc: Doc = openApiDocument({ ...DEFAULT_CONFIG, apiKey: "k".repeat(32) }, ROUTES);
  for (const route of ROUTES) {
    for (const method of Object.keys(route.methods)) {
      const operation = doc.paths[route.path][method.toLowerCase()];
      const label = `${method} ${route.path}`;
      if (route.auth === "apiKey") {
        assert(route.path.startsWith("/api/"), label);
        assertEquals(operation.security, [{ bearerAuth: [] }], label);
        assert(operation.responses["401"], label);
      } else if (!route.path.startsWith("/api/")) {
        assertEquals(operation.security, undefined, label);
      }
    }
  }
});

Deno.test("routes: every static file is a GET route of its own", () => {
  for (const asset of ASSETS) {
    const route = ROUTES.find((r) => r.path === asset.path);
    assertEquals(route && Object.keys(route.methods), ["GET"], asset.path);
  }
});
