#!/usr/bin/env bash
# The README's second walk-through: paying with WeChat Pay in the sandbox,
# through the real WeChat SDK code against the in-process fake. Runs after
# scripts/walkthrough.sh against the same server.
set -euo pipefail
export B=${LIANBAN_URL:-http://127.0.0.1:8080}/api/v1
json() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
# --- begin wechat walk-through ---
WX=$(curl -sf -X POST $B/sessions/wechat -d '{"code":"demo-wx-code"}' | json token)
WXAUTH="Authorization: Bearer $WX"
curl -sf -X POST $B/me/identity -H "$WXAUTH" -d '{"name":"王小军","id_number":"150203198806153452"}'; echo
curl -sf -X POST $B/enrolments -H "$WXAUTH" -d '{"person":"self","scheme":"flexible_medical","region_code":"150200","medical_option":"combined"}'; echo
P2=$(curl -sf -X POST $B/payables/query -H "$WXAUTH" -d '{"person":"self"}' | json payable_id)
D2=$(curl -sf -X POST $B/declarations -H "$WXAUTH" -d "{\"payable_id\":\"$P2\",\"option_code\":\"combined\"}" | json declaration_id)
PAY=$(curl -sf -X POST $B/payments -H "$WXAUTH" -d "{\"declaration_id\":\"$D2\",\"channel\":\"wechat\"}"); echo "$PAY"   # pay_params for wx.requestPayment
O2=$(echo "$PAY" | json order_no)
curl -sf -X POST ${B%/api/v1}/sandbox/pay/$O2 -d '{"result":"success"}'; echo
sleep 2; curl -sf "$B/payments/$O2" -H "$WXAUTH"; echo   # "status":"paid"
# --- end wechat walk-through ---
