# rest_lib.sh — shared helpers for the FHIR REST integration tests
# (sourced by tests/integration/it_rest_*.sh; not a test itself).
#
#   rest_init NAME               temp dir, failure counter, cleanup trap
#   rest_backends                "sqlite" and, when CW_TEST_PG is set, "postgres"
#   rest_start BACKEND [ARGS..]  start `causeway serve` on a free loopback port with a
#                                fresh store (SQLite file, or a new database in the
#                                CW_TEST_PG cluster); sets B (the FHIR base URL)
#   rest_stop                    stop it (and drop the PostgreSQL database)
#   req METHOD PATH [BODY-FILE|-] [HEADER...]
#                                one request; status in $st, body in $tmp/body,
#                                headers in $tmp/hdr
#   expect_status CODE WHAT      check $st
#   j EXPR                       evaluate a Python expression on the JSON body (d)
#   hdr NAME                     a response header's value
#   check COND WHAT              record a failure when the shell test COND fails
#   rest_done NAME               print the summary and exit 0/1
set -u

rest_init() {
  bin="${CW_BINARY:?CW_BINARY not set}"
  tmp="$(mktemp -d /tmp/cw-it-rest.XXXXXX)"
  fails=0
  srv_pid=""
  pg_db=""
  trap 'rest_stop; rm -rf "$tmp"' EXIT
  command -v curl >/dev/null || { echo "SKIPPED: curl not installed"; exit 77; }
  command -v python3 >/dev/null || { echo "SKIPPED: python3 not installed"; exit 77; }
  # the interpreter itself, not a version-manager shim (a pyenv shim costs
  # ~0.4 s per call, and the tests make hundreds of calls)
  PY=$(python3 -c 'import sys; print(sys.executable)')
}

fail() { echo "FAIL[$backend]: $*"; fails=$((fails + 1)); }

rest_backends() {
  echo sqlite
  if [ -n "${CW_TEST_PG:-}" ]; then echo postgres; fi
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

rest_start() {
  backend=$1
  shift
  local port store data="$tmp/data-$backend-$RANDOM"
  mkdir -p "$data"
  if [ "$backend" = postgres ]; then
    pg_db="cw_it_$(basename "$0" .sh | tr -c 'a-z0-9_\n' '_')_$$_$RANDOM"
    psql -q "$CW_TEST_PG" -c "CREATE DATABASE $pg_db" >/dev/null 2>&1 ||
      { fail "cannot create database $pg_db"; return 1; }
    store=$("$PY" -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$CW_TEST_PG" "$pg_db")
  else
    store="sqlite:$data/causeway.db"
  fi
  port=$(free_port)
  "$bin" serve --http "127.0.0.1:$port" --mllp off --data "$data" --store "$store" \
    --log-level warn "$@" >"$tmp/serve.out" 2>"$tmp/serve.err" &
  srv_pid=$!
  B="http://127.0.0.1:$port/fhir"
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then return 0; fi
    if ! kill -0 "$srv_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  fail "server did not start: $(head -c 500 "$tmp/serve.err")"
  return 1
}

rest_stop() {
  if [ -n "$srv_pid" ]; then
    kill "$srv_pid" 2>/dev/null
    wait "$srv_pid" 2>/dev/null
    srv_pid=""
    if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$tmp/serve.err" 2>/dev/null; then
      echo "FAIL[${backend:-}]: the server reported a sanitizer error:"
      head -60 "$tmp/serve.err"
      fails=$((fails + 1))
    fi
  fi
  if [ -n "$pg_db" ]; then
    psql -q "$CW_TEST_PG" -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
    pg_db=""
  fi
}

# req METHOD PATH [BODY-FILE|''|-] [HEADER...]
req() {
  local method=$1 path=$2 body=${3:-}
  shift 3 2>/dev/null || shift $#
  local args=(-sS -X "$method" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}')
  if [ -n "$body" ]; then args+=(--data-binary "@$body"); fi
  local h
  for h in "$@"; do args+=(-H "$h"); done
  case "$path" in http*) ;; *) path="$B$path" ;; esac
  st=$(curl "${args[@]}" "$path" 2>"$tmp/curl.err") || st="curl-failed($(cat "$tmp/curl.err"))"
}

# jreq METHOD PATH JSON-TEXT [HEADER...]: a request with an inline FHIR JSON body
jreq() {
  local method=$1 path=$2 json=$3
  shift 3
  printf '%s' "$json" >"$tmp/in.json"
  req "$method" "$path" "$tmp/in.json" "Content-Type: application/fhir+json" "$@"
}

expect_status() {
  [ "$st" = "$1" ] || fail "$2: HTTP $st, wanted $1 ($(head -c 300 "$tmp/body" 2>/dev/null))"
}

j() {
  "$PY" - "$tmp/body" "$1" <<'EOF' 2>/dev/null
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("<not json>"); sys.exit(0)
try:
    v = eval(sys.argv[2], {"d": d, "len": len, "sorted": sorted, "set": set, "any": any, "all": all})
except Exception as e:
    print("<error: %s>" % type(e).__name__); sys.exit(0)
print(v if not isinstance(v, (dict, list)) else json.dumps(v))
EOF
}

hdr() {
  tr -d '\r' <"$tmp/hdr" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1)==n {sub(/^[^:]*: /,""); print; exit}'
}

check() {
  local cond=$1 what=$2
  eval "$cond" || fail "$what"
}

rest_done() {
  if [ "$fails" -ne 0 ]; then echo "$1: $fails failure(s)"; exit 1; fi
  echo "$1: all checks passed"
  exit 0
}
