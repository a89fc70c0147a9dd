#!/usr/bin/env bash
# The README's walk-through, runnable as is against a server started with
# `make run` on a fresh data directory. CI runs it against a fresh server.
# Needs only bash and curl.
set -euo pipefail
export B=${LIANBAN_URL:-http://127.0.0.1:8080}/api/v1
# --- begin walk-through (copied verbatim into README.md) ---
json() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
TOKEN=$(curl -sf -X POST $B/sessions/sandbox -d '{"subject":"demo-zhang"}' | json token)
AUTH="Authorization: Bearer $TOKEN"
curl -sf -X POST $B/me/identity -H "$AUTH" -d '{"name":"张三明","id_number":"150102199003071237","phone":"13812345678"}'; echo
curl -sf -X POST $B/enrolments -H "$AUTH" -d '{"person":"self","scheme":"flexible_pension","region_code":"150100"}'; echo
MEMBER=$(curl -sf -X POST $B/me/family -H "$AUTH" -d '{"name":"李秀英","id_number":"15010219620512222X","relation":"parent"}' | json member_id)
curl -sf -X POST $B/enrolments -H "$AUTH" -d "{\"person\":\"$MEMBER\",\"scheme\":\"resident_medical\",\"region_code\":\"150100\"}"; echo
curl -sf -X POST $B/payables/query -H "$AUTH" -d '{"person":"self"}'; echo
curl -sf -X POST $B/payables/query -H "$AUTH" -d "{\"person\":\"$MEMBER\"}"; echo
PAYABLE=$(curl -sf -X POST $B/payables/query -H "$AUTH" -d '{"person":"self"}' | json payable_id)
DECL=$(curl -sf -X POST $B/declarations -H "$AUTH" -H "Idempotency-Key: demo-1" -d "{\"payable_id\":\"$PAYABLE\",\"option_code\":\"grade_60\"}" | json declaration_id)
ORDER=$(curl -sf -X POST $B/payments -H "$AUTH" -d "{\"declaration_id\":\"$DECL\",\"channel\":\"sandbox\"}" | json order_no)
curl -sf -X POST ${B%/api/v1}/sandbox/pay/$ORDER -d '{"result":"success"}'; echo
curl -sf "$B/payments/$ORDER" -H "$AUTH"; echo
V=$(curl -sf -X POST $B/certificates -H "$AUTH" -d "{\"kind\":\"payment_voucher\",\"order_no\":\"$ORDER\"}"); echo "$V"
curl -sf "$B/certificates/$(echo "$V" | json certificate_no)/pdf" -H "$AUTH" -o voucher.pdf && head -c 8 voucher.pdf; echo   # %PDF-1.7
curl -sf "$B/certificates/verify?no=$(echo "$V" | json certificate_no)&code=$(echo "$V" | json verify_code)"; echo   # "result":"valid"
curl -sf "$B/records?person=self" -H "$AUTH"; echo        # "status":"paid"
sleep 3; curl -sf "$B/records?person=self" -H "$AUTH"; echo   # "status":"credited"
sleep 3; curl -sf "$B/records?person=self" -H "$AUTH"; echo   # "status":"booked"
# --- end walk-through ---
