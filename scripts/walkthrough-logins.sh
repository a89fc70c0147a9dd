#!/usr/bin/env bash
# The README's login walk-through: the 税务 APP's signed token and 蒙速办's
# OpenID Connect code with PKCE, against the sandbox's in-process identity
# service and provider, through the same verifier and relying party as
# production. Runs against a sandbox server (after scripts/walkthrough.sh).
set -euo pipefail
export B=${LIANBAN_URL:-http://127.0.0.1:8080}/api/v1
json() { grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }
# --- begin login walk-through ---
S=${B%/api/v1}
TOKEN=$(curl -sf -X POST $S/sandbox/taxapp/token -d '{"subject":"app-zhang","name":"张三明","id_number":"150102199003071237"}' | json token)
curl -sf -X POST $B/sessions/taxapp -d "{\"token\":\"$TOKEN\"}"; echo   # "channel":"taxapp","real_name_verified":true
VERIFIER=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\n')
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
CALLBACK=$S/h5/mengsuban/callback
START=$(curl -sf -X POST $B/sessions/mengsuban/authorize -d "{\"redirect_uri\":\"$CALLBACK\",\"code_challenge\":\"$CHALLENGE\"}")
AUTHZ=$(echo "$START" | json authorization_url | sed 's/\\u0026/\&/g'); STATE=$(echo "$START" | json state)
BACK=$(curl -s -o /dev/null -w '%{redirect_url}' "$AUTHZ&login_hint=150102199003071237"); echo "$BACK"   # the page 蒙速办 sends the person back to
CODE=$(echo "$BACK" | sed 's/.*[?&]code=\([^&]*\).*/\1/')
curl -sf -X POST $B/sessions/mengsuban -d "{\"code\":\"$CODE\",\"redirect_uri\":\"$CALLBACK\",\"code_verifier\":\"$VERIFIER\",\"state\":\"$STATE\"}"; echo   # "channel":"mengsuban"
curl -s -X POST $B/sessions/mengsuban -d "{\"code\":\"$CODE\",\"redirect_uri\":\"$CALLBACK\",\"code_verifier\":\"$VERIFIER\",\"state\":\"$STATE\"}"; echo   # the state again: LOGIN_FAILED
curl -sf $S/metrics | grep '^lianban_login_refused_total'
# --- end login walk-through ---
