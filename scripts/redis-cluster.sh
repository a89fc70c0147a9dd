#!/usr/bin/env bash
# A local three-master Redis Cluster for the tests (issue 15): CI starts it
# through .ci/run, and a developer can too:
#
#   bash scripts/redis-cluster.sh start   # idempotent; prints the addresses
#   export LIANBAN_TEST_REDIS_CLUSTER=$(bash scripts/redis-cluster.sh addrs)
#   bash scripts/redis-cluster.sh stop
#
# Ports 7001-7003 (LIANBAN_REDIS_CLUSTER_PORTS to change), no replicas,
# nothing persisted: the nodes' cluster configuration files and logs live
# in LIANBAN_REDIS_CLUSTER_DIR (default /tmp/lianban-redis-cluster). A
# cluster that does not come up healthy is rebuilt from scratch, which
# loses only test data.
set -euo pipefail
ports=(${LIANBAN_REDIS_CLUSTER_PORTS:-7001 7002 7003})
dir=${LIANBAN_REDIS_CLUSTER_DIR:-/tmp/lianban-redis-cluster}

addrs() {
  local a=() p
  for p in "${ports[@]}"; do a+=("127.0.0.1:$p"); done
  (IFS=,; echo "${a[*]}")
}

healthy() { # every node answers and agrees the cluster is ok
  local p
  for p in "${ports[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

wait_healthy() { # seconds
  local i
  for i in $(seq 1 "$(($1 * 10))"); do
    healthy && return 0
    sleep 0.1
  done
  return 1
}

stop() {
  local p
  for p in "${ports[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 || break
      sleep 0.1
    done
  done
}

start_nodes() {
  local p
  mkdir -p "$dir"
  for p in "${ports[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && continue
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$p.conf" --cluster-node-timeout 5000 \
      --dir "$dir" --logfile "$dir/redis-$p.log" --pidfile "$dir/redis-$p.pid" \
      --daemonize yes --save "" --appendonly no
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 50); do
      redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$p" ping >/dev/null 2>&1 || { echo "redis-cluster: node $p did not start (see $dir/redis-$p.log)" >&2; return 1; }
  done
}

create() {
  local a=() p
  for p in "${ports[@]}"; do a+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${a[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
    { echo "redis-cluster: create failed:" >&2; cat "$dir/create.log" >&2; return 1; }
}

start() {
  command -v redis-server >/dev/null || { echo "redis-cluster: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
  if healthy; then addrs; return 0; fi
  start_nodes
  # Nodes restarted from their configuration files rejoin by themselves.
  if wait_healthy 3; then addrs; return 0; fi
  # Never created, or left half-made: start over from empty nodes.
  stop
  rm -f "$dir"/nodes-*.conf
  start_nodes
  create
  wait_healthy 30 || { echo "redis-cluster: cluster_state is not ok after 30 s" >&2; exit 1; }
  addrs
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  addrs) addrs ;;
  status) if healthy; then echo "ok $(addrs)"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|addrs" >&2; exit 2 ;;
esac
