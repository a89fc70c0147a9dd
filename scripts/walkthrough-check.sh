#!/usr/bin/env bash
# Starts a server on embedded defaults in a fresh directory, runs the
# README walk-through against it, and checks the records went paid →
# credited → booked, for a person and for a unit. Used by CI; exits
# non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
port=${WALKTHROUGH_PORT:-18080}
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/lianban" "$root/cmd/lianban"
cd "$work"
LIANBAN_ADDR=127.0.0.1:$port "$work/lianban" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
out=$(LIANBAN_URL=http://127.0.0.1:$port bash "$root/scripts/walkthrough.sh")
echo "$out"
lines=$(echo "$out" | tail -n 3)
echo "$lines" | sed -n 1p | grep -q '"status":"paid"' || { echo "walkthrough: records not paid"; cat "$work/server.log"; exit 1; }
echo "$lines" | sed -n 2p | grep -q '"status":"credited"' || { echo "walkthrough: records not credited"; exit 1; }
echo "$lines" | sed -n 3p | grep -q '"status":"booked"' || { echo "walkthrough: records not booked"; exit 1; }
echo "$out" | grep -q '"result":"valid"' || { echo "walkthrough: the voucher does not verify"; exit 1; }
command -v pdftotext >/dev/null && { pdftotext "$work/voucher.pdf" - | grep -q '缴费凭证' || { echo "walkthrough: voucher.pdf does not read as a voucher"; exit 1; }; }
if grep -q '150102199003071237\|张三明' "$work/server.log"; then
  echo "walkthrough: personal data found in the server log"; exit 1
fi
wx=$(LIANBAN_URL=http://127.0.0.1:$port bash "$root/scripts/walkthrough-wechat.sh")
echo "$wx"
echo "$wx" | grep -q '"paySign"' || { echo "walkthrough: no wx.requestPayment parameters"; exit 1; }
echo "$wx" | tail -n 1 | grep -q '"status":"paid"' || { echo "walkthrough: the WeChat payment was not settled"; cat "$work/server.log"; exit 1; }
unit=$(LIANBAN_URL=http://127.0.0.1:$port bash "$root/scripts/walkthrough-unit.sh")
echo "$unit"
recs=$(echo "$unit" | grep '"payer_kind":"unit"')
echo "$unit" | grep '"debit_no"' | grep -q '"status":"paid"' || { echo "walkthrough: the unit's 三方协议 payment was not settled"; cat "$work/server.log"; exit 1; }
echo "$recs" | sed -n 1p | grep -q '"status":"paid"' || { echo "walkthrough: the employee's records are not paid"; exit 1; }
echo "$recs" | sed -n 2p | grep -q '"status":"credited"' || { echo "walkthrough: the employee's records are not credited"; exit 1; }
echo "$recs" | sed -n 3p | grep -q '"status":"booked"' || { echo "walkthrough: the employee's records are not booked"; exit 1; }
echo "$unit" | grep '"unit":{' | grep -q '"result":"valid"' || { echo "walkthrough: the unit's 完税证明 does not verify"; exit 1; }
command -v pdftotext >/dev/null && { pdftotext "$work/unit-certificate.pdf" - | grep -q '完税证明' || { echo "walkthrough: unit-certificate.pdf does not read as a 完税证明"; exit 1; }; }
echo "$unit" | grep -q '^attachment-ok$' || { echo "walkthrough: the hall did not get the unit's attachment back"; exit 1; }
echo "$unit" | tail -n 1 | grep -q '"status":"refunded"' || { echo "walkthrough: the unit's refund was not paid"; exit 1; }
if grep -q '150102198803151230\|王丽' "$work/server.log"; then
  echo "walkthrough: an employee's personal data found in the server log"; exit 1
fi
counter=$(LIANBAN_URL=http://127.0.0.1:$port bash "$root/scripts/walkthrough-counter.sh")
echo "$counter"
echo "$counter" | grep '"confirm_txn_id"' | head -n1 | grep -q '"status":"paid"' || { echo "walkthrough: the counter's confirmation did not settle"; cat "$work/server.log"; exit 1; }
[ "$(echo "$counter" | grep -c '"confirm_txn_id":"BK-0001-P"')" = 2 ] || { echo "walkthrough: the counter's retry did not get the same answer"; exit 1; }
echo "$counter" | grep -q '"mismatches":\[\]' || { echo "walkthrough: the bank's reconciliation file did not match"; exit 1; }
echo "$counter" | tail -n 1 | grep '"payer_kind":"counter"' | grep -q '"terminal_id":"HH-XC-07"' || { echo "walkthrough: 李秀英's records do not show the counter"; exit 1; }
if grep -q '15010219620512222X\|李秀英' "$work/server.log"; then
  echo "walkthrough: personal data found in the server log after the counter"; exit 1
fi
logins=$(LIANBAN_URL=http://127.0.0.1:$port bash "$root/scripts/walkthrough-logins.sh")
echo "$logins"
echo "$logins" | grep '"channel":"taxapp"' | grep -q '"real_name_verified":true' || { echo "walkthrough: the tax APP login did not bind the real name"; cat "$work/server.log"; exit 1; }
echo "$logins" | grep '"channel":"mengsuban"' | grep -q '"real_name_verified":true' || { echo "walkthrough: the 蒙速办 login did not bind the real name"; cat "$work/server.log"; exit 1; }
echo "$logins" | grep -q 'LOGIN_FAILED' || { echo "walkthrough: a used 蒙速办 state was accepted again"; exit 1; }
echo "$logins" | grep -q 'lianban_login_refused_total{channel="mengsuban",reason="state"} 1' || { echo "walkthrough: the refusal was not counted"; exit 1; }
if grep -q '150102199003071237\|张三明' "$work/server.log"; then
  echo "walkthrough: personal data found in the server log after the logins"; exit 1
fi
# Stopped, the server has written every line it logged (under load a line
# is written a moment after its response): the whole log once more.
kill "$pid" && wait "$pid" || true
if grep -q '150102199003071237\|张三明\|150102198803151230\|王丽\|15010219620512222X\|李秀英' "$work/server.log"; then
  echo "walkthrough: personal data found in the server's whole log"; exit 1
fi
echo "walkthrough: paid → credited → booked, voucher verified, WeChat Pay settled, and a unit's roster, declaration, 三方协议 payment, 完税证明 and refund, a bank counter's signed payment and reconciliation, and the 税务 APP and 蒙速办 logins OK"
