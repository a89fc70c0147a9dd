#!/usr/bin/env bash
# Generates the clients front-end teams and partner banks will generate from
# miniprogram-api.yaml and compiles them: a Go client with oapi-codegen and
# TypeScript types with openapi-typescript under tsc --strict. Both tools
# are pinned (go.mod's tool line, package-lock.json); what they generate is
# not committed.
set -euo pipefail
cd "$(dirname "$0")"
spec="$(pwd)/../../miniprogram-api.yaml"

(
  cd go
  mkdir -p client
  go tool oapi-codegen -generate types,client -package client -o client/client.go "$spec"
  go build ./client/
  echo "clients: the Go client (oapi-codegen) compiles"
)

(
  cd ts
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  npx --no-install openapi-typescript "$spec" -o api.d.ts >/dev/null
  npx --no-install tsc -p .
  echo "clients: the TypeScript types (openapi-typescript) compile under tsc --strict"
)
