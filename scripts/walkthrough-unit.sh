#!/usr/bin/env bash
# The README's unit walk-through (businesses 1, 2, 4, 5, 7 and 9 of the
# seed), runnable as is against a server started with `make run`. CI runs
# it against a fresh server. Needs bash, curl and openssl (for the hall's
# TOTP codes).
set -euo pipefail
export B=${LIANBAN_URL:-http://127.0.0.1:8080}/api/v1
# --- begin unit walk-through (copied verbatim into README.md) ---
json() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
totp() { # RFC 6238 code of the sandbox hall's TOTP secret JBSWY3DPEHPK3PXP (hex 48656c6c6f21deadbeef)
  local c h o
  c=$(printf '%016x' $(( $(date +%s) / 30 )))
  h=$(printf "$(echo "$c" | sed 's/../\\x&/g')" | openssl dgst -sha1 -mac HMAC -macopt hexkey:48656c6c6f21deadbeef | awk '{print $NF}')
  o=$(( 0x${h:39:1} * 2 ))
  printf '%06d' $(( (0x${h:o:8} & 0x7fffffff) % 1000000 ))
}
PERIOD=$(TZ=Asia/Shanghai date +%Y%m)
UT=$(curl -sf -X POST $B/sessions/sandbox -d '{"subject":"demo-unit-zhang"}' | json token)
UA="Authorization: Bearer $UT"
curl -sf -X POST $B/me/identity -H "$UA" -d '{"name":"张三明","id_number":"150102199003071237"}'; echo
UNIT=$(curl -sf -X POST $B/units -H "$UA" -d '{"uscc":"91150100MA0LB00013","name":"内蒙古联办示范科技有限公司"}' | json unit_id)
curl -sf -X POST $B/units/$UNIT/registrations -H "$UA" -d '{"scheme":"enterprise_pension","region_code":"150100"}'; echo
curl -sf -X POST $B/units/$UNIT/registrations -H "$UA" -d '{"scheme":"enterprise_medical","region_code":"150100"}'; echo
printf '姓名,身份证号码,缴费工资,起始年月\n王丽,150102198803151230,6500.00,%s\n李强,150102199207082421,8200.50,%s\n刘芳,150105198506213318,5000,%s\n' $PERIOD $PERIOD $PERIOD > roster.csv
curl -sf -X POST $B/units/$UNIT/employees -H "$UA" -F file=@roster.csv; echo
curl -sf "$B/units/$UNIT/payables?period=$PERIOD" -H "$UA"; echo    # 预处理数据
ET=$(curl -sf -X POST $B/sessions/sandbox -d '{"subject":"demo-wangli"}' | json token); EA="Authorization: Bearer $ET"
curl -sf -X POST $B/me/identity -H "$EA" -d '{"name":"王丽","id_number":"150102198803151230"}'; echo   # an employee logs in
UDECL=$(curl -sf -X POST $B/units/$UNIT/declarations -H "$UA" -d "{\"period\":\"$PERIOD\"}" | json declaration_id)
AGR=$(curl -sf -X POST $B/units/$UNIT/agreements -H "$UA" -d '{"bank_code":"CCB","account_name":"内蒙古联办示范科技有限公司","account_no":"6227000012345678901"}' | json agreement_id)
UORDER=$(curl -sf -X POST $B/units/$UNIT/payments -H "$UA" -d "{\"declaration_id\":\"$UDECL\",\"method\":\"tripartite\",\"agreement_id\":\"$AGR\"}" | json order_no)
curl -sf "$B/units/$UNIT/payments/$UORDER" -H "$UA"; echo   # "status":"paid"
curl -sf "$B/records?person=self" -H "$EA"; echo          # 王丽 sees the months her unit paid: "status":"paid"
sleep 3; curl -sf "$B/records?person=self" -H "$EA"; echo   # "status":"credited"
sleep 3; curl -sf "$B/records?person=self" -H "$EA"; echo   # "status":"booked"
UC=$(curl -sf -X POST $B/certificates -H "$UA" -d "{\"kind\":\"tax_payment_certificate\",\"unit_id\":\"$UNIT\"}"); echo "$UC"   # 完税证明
curl -sf "$B/certificates/$(echo "$UC" | json certificate_no)/pdf" -H "$UA" -o unit-certificate.pdf && head -c 8 unit-certificate.pdf; echo
curl -sf "$B/certificates/verify?no=$(echo "$UC" | json certificate_no)&code=$(echo "$UC" | json verify_code)"; echo   # "result":"valid"
printf '%%PDF-1.4\n%% 开户许可证（复印件）\n%%%%EOF\n' > permit.pdf
UP=$(curl -sf -X POST $B/uploads -H "$UA" -F unit_id=$UNIT -F file=@permit.pdf | json upload_id)
UR=$(curl -sf -X POST $B/units/$UNIT/refunds -H "$UA" -d "{\"order_no\":\"$UORDER\",\"scheme\":\"enterprise_pension\",\"refund_fen\":10000,\"reason\":\"overpaid\",\"reason_detail\":\"多缴\",\"bank_account\":{\"bank_name\":\"中国建设银行\",\"account_name\":\"内蒙古联办示范科技有限公司\",\"account_no\":\"6227000012345678901\"},\"attachments\":[\"$UP\"]}" | json refund_no); echo "$UR"
S=${B}/staff
TAX=$(curl -sf -X POST $S/sessions -d "{\"username\":\"tax1\",\"password\":\"sandbox-password\",\"totp\":\"$(totp)\"}" | json token)
SI=$(curl -sf -X POST $S/sessions -d "{\"username\":\"si1\",\"password\":\"sandbox-password\",\"totp\":\"$(totp)\"}" | json token)
curl -sf "$S/refunds/$UR" -H "Authorization: Bearer $TAX" | grep -o '"uploads":\[[^]]*\]'   # the hall sees the attachment
curl -sf "$S/refunds/$UR/attachments/$UP" -H "Authorization: Bearer $TAX" -o permit-seen-by-hall.pdf && cmp permit.pdf permit-seen-by-hall.pdf && echo attachment-ok
curl -sf -X POST $S/refunds/$UR/accept -H "Authorization: Bearer $TAX"; echo                          # 税务窗口受理
curl -sf -X POST $S/refunds/$UR/review -H "Authorization: Bearer $SI" -d '{"approve":true}'; echo     # 社保复核
curl -sf -X POST $S/refunds/$UR/execute -H "Authorization: Bearer $TAX" -d '{}'; echo                  # 税务退库
sleep 2; curl -sf "$B/units/$UNIT/refunds" -H "$UA"; echo   # "status":"refunded"
# --- end unit walk-through ---
