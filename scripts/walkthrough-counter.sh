#!/usr/bin/env bash
# The README's bank-counter walk-through: 李秀英 pays her 城乡居民医保 at a
# bank's counter. The counter looks her up by name and ID number, opens an
# order for the year, confirms it with its own transaction id, and hands in
# the day's reconciliation file, every request signed by lianban-sign as the
# sandbox bank; then she opens the app herself and sees the year in her
# records with the counter that took it. Runs from the checkout against a sandbox server,
# after scripts/walkthrough.sh (which enrols her).
set -euo pipefail
cd "$(dirname "$0")/.."
export B=${LIANBAN_URL:-http://127.0.0.1:8080}/api/v1
json() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
# --- begin counter walk-through ---
num() { grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2; }
P=${B%/api/v1}/partner/v1; SIGN="go run ./cmd/lianban-sign"   # signs as sandbox-bank / sandbox-partner-key
Q=$($SIGN POST $P/payables/query '{"name":"李秀英","id_number":"15010219620512222X"}'); echo "$Q"   # "李*英", 40000 fen, unpaid 202701
PAYABLE=$(echo "$Q" | json payable_id); FROM=$(echo "$Q" | json period_from); TO=$(echo "$Q" | json period_to)   # a year: 202701–202712
O=$($SIGN POST $P/orders "{\"payable_id\":\"$PAYABLE\",\"option_code\":\"standard\",\"period_from\":\"$FROM\",\"period_to\":\"$TO\",\"partner_txn_id\":\"BK-0001\",\"terminal_id\":\"HH-XC-07\",\"channel\":\"bank_counter\"}"); echo "$O"
ORDER=$(echo "$O" | json order_no); FEN=$(echo "$O" | num amount_fen); PAID_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
$SIGN POST $P/orders/$ORDER/confirm "{\"partner_txn_id\":\"BK-0001-P\",\"paid_fen\":$FEN,\"paid_at\":\"$PAID_AT\"}"; echo   # "status":"paid"
$SIGN POST $P/orders/$ORDER/confirm "{\"partner_txn_id\":\"BK-0001-P\",\"paid_fen\":$FEN,\"paid_at\":\"$PAID_AT\"}"; echo   # a retry: the same answer
DAY=$(TZ=Asia/Shanghai date +%F)
printf 'partner_txn_id,order_no,amount_fen,status,paid_at\nBK-0001-P,%s,%s,paid,%s\n' "$ORDER" "$FEN" "$PAID_AT" |
  $SIGN -type text/csv PUT $P/reconciliation/$DAY @-; echo   # the day's file: "mismatches":[]
TOKEN=$(curl -sf -X POST $B/sessions/sandbox -d '{"subject":"demo-li"}' | json token); AUTH="Authorization: Bearer $TOKEN"
curl -sf -X POST $B/me/identity -H "$AUTH" -d '{"name":"李秀英","id_number":"15010219620512222X"}' >/dev/null
curl -sf "$B/records?person=self" -H "$AUTH" | grep -o "{[^{}]*\"order_no\":\"$ORDER\"[^{}]*\"counter\":{[^{}]*}"   # "payer_kind":"counter", 联办示范银行, HH-XC-07
# --- end counter walk-through ---
