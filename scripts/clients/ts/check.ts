// Compiled with tsc --strict against the types openapi-typescript makes of
// miniprogram-api.yaml: a few uses a front end makes, so a spec change that
// breaks generated clients (a renamed field, a schema that no longer
// resolves) fails CI.
import type { paths, components } from "./api";

type Me = paths["/api/v1/me"]["get"]["responses"][200]["content"]["application/json"];
type ApiError = components["schemas"]["Error"];

export function greeting(me: Me): string {
  return me.user_id;
}

export function explain(e: ApiError): string {
  return e.error.code + ": " + e.error.message;
}
