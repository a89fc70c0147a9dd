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

// A bank's counter software opening an order through the partner API.
type PartnerOrderRequest = components["schemas"]["PartnerOrderRequest"];

export function counterOrder(voucherNo: string, txn: string): PartnerOrderRequest {
  return { voucher_no: voucherNo, partner_txn_id: txn, terminal_id: "T-01", channel: "bank_counter" };
}
