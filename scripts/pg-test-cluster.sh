#!/usr/bin/env bash
# pg-test-cluster.sh — a throwaway PostgreSQL cluster for the store tests.
#
#   scripts/pg-test-cluster.sh available        exit 0 when PostgreSQL's server binaries are installed
#   scripts/pg-test-cluster.sh start DIR        initdb in DIR (created, must be empty or absent),
#                                               start on 127.0.0.1 at a free port, print the URL
#   scripts/pg-test-cluster.sh stop DIR         stop the cluster and remove DIR
#   scripts/pg-test-cluster.sh run CMD [ARG...] run CMD with CW_TEST_PG set: an existing
#                                               CW_TEST_PG is kept; otherwise a cluster is started
#                                               for CMD (and stopped after it) when PostgreSQL is
#                                               installed, and CMD runs without it when it is not
#
# Tests run with fsync, synchronous_commit and full_page_writes off (nothing
# to keep); PG_TEST_DURABLE=1 keeps PostgreSQL's durable defaults (benchmarks).
#
# The cluster listens on 127.0.0.1 only (no Unix socket outside DIR) with
# trust authentication for loopback connections only, and holds nothing
# but test data. PostgreSQL refuses to run as root, so as root the server
# runs as the 'postgres' user (created by the Debian package) via runuser.
set -euo pipefail

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
  local dir=$1 bin port
  bin=$(pg_bindir) || { echo "pg-test-cluster: PostgreSQL server binaries not found" >&2; exit 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg-test-cluster: no 'postgres' user to run the server as" >&2; exit 1; }
    chown postgres: "$dir"
    chmod 700 "$dir"
  fi
  as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # Loopback only: no local-socket access outside DIR, trust only from 127.0.0.1.
  as_pg sh -c "printf 'host all all 127.0.0.1/32 trust\n' > '$dir/data/pg_hba.conf'"
  local fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_TEST_DURABLE:-0}" = 1 ] && fast=""
  local tries=0
  while :; do
    port=$(free_port)
    if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $fast -c max_connections=200" \
        start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 3 ]; then cat "$dir/server.log" >&2 || true; exit 1; fi
  done
  echo "$port" >"$dir/port"
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres causeway_test >/dev/null
  echo "postgresql://postgres@127.0.0.1:$port/causeway_test"
}

stop() {
  local dir=$1 bin
  bin=$(pg_bindir) || exit 0
  if [ -d "$dir/data" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  available) pg_bindir >/dev/null 2>&1 ;;
  start) [ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }; start "$2" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  run)
    shift
    [ $# -ge 1 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
    if [ -n "${CW_TEST_PG:-}" ] || ! pg_bindir >/dev/null 2>&1; then
      [ -n "${CW_TEST_PG:-}" ] || echo "pg-test-cluster: PostgreSQL not installed: PostgreSQL tests will be skipped" >&2
      exec "$@"
    fi
    dir=$(mktemp -d /tmp/cw-pg.XXXXXX)
    trap 'stop "$dir"' EXIT
    CW_TEST_PG=$(start "$dir")
    export CW_TEST_PG
    echo "pg-test-cluster: PostgreSQL for the tests at $CW_TEST_PG" >&2
    set +e
    "$@"
    rc=$?
    set -e
    exit $rc
    ;;
  *) echo "usage: $0 available|start DIR|stop DIR|run CMD..." >&2; exit 2 ;;
esac
