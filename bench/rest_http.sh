#!/usr/bin/env bash
# rest_http.sh — the FHIR server over HTTP: start-up time, idle RSS, Synthea
# load through curl, then wrk with a read/search/create mix.
#
#   bench/rest_http.sh CAUSEWAY_BINARY [STORE_URL] [WRK_SECONDS] [CONNECTIONS]
#
# STORE_URL defaults to a fresh SQLite file; a postgres:// URL is used as is
# (its public schema is dropped first). Prints one JSON line per measurement
# (the peers' format). Needs curl, wrk, python3. Never gates CI.
set -euo pipefail
bin=$1
store=${2:-}
secs=${3:-20}
conns=${4:-32}
here="$(cd "$(dirname "$0")" && pwd)"
corpus="${CW_CORPUS:-$here/../../shared/corpus}/fhir-r4-examples/synthea"
tmp=$(mktemp -d /tmp/cw-rest-http.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ -z "$store" ]; then
  store="sqlite:$tmp/data/causeway.db"
  be=sqlite
else
  psql -q "$store" -c "SET client_min_messages=warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null
  be=postgres
fi
# start-up: from exec to the first answered /health (python polls without spawning processes)
read -r pid startup_ms < <(python3 - "$bin" "$port" "$tmp" "$store" ${CW_SERVE_ARGS:-} <<'PY'
import os, socket, subprocess, sys, time
b, port, tmp, store = sys.argv[1:5]
t = time.time()
p = subprocess.Popen([b, "serve", "--http", "127.0.0.1:" + port, "--mllp", "off", "--data", tmp + "/data",
                      "--store", store, "--log-level", "error"] + sys.argv[5:],
                     stdout=open(tmp + "/serve.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=1)
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        if s.recv(12).startswith(b"HTTP/1.1 200"):
            break
        s.close()
    except OSError:
        time.sleep(0.001)
print(p.pid, "%.1f" % ((time.time() - t) * 1000))
PY
)
sleep 1
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "{\"task\":\"rest-startup\",\"peer\":\"c-$be\",\"startup_ms\":$startup_ms,\"idle_rss_kb\":$rss}"
B="http://127.0.0.1:$port/fhir"
n=0
t0=$(date +%s.%N)
for f in "$corpus"/*Information*.json "$corpus"/*.json; do
  case "$f" in *Information*) [ "$n" -ge 2 ] && continue ;; esac
  curl -s -X POST -H 'Content-Type: application/fhir+json' --data-binary @"$f" "$B" -o "$tmp/resp-$n.json"
  n=$((n + 1))
done
t1=$(date +%s.%N)
python3 -c 'import json,sys
for f in sys.argv[1:]:
    d=json.load(open(f))
    [print(e["response"]["location"].rsplit("/_history",1)[0]) for e in d["entry"] if e["response"]["location"].startswith("Patient/")]' "$tmp"/resp-*.json >"$tmp/ids"
rss2=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "{\"task\":\"rest-http-load\",\"peer\":\"c-$be\",\"bundles\":$n,\"seconds\":$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f'),\"rss_after_kb\":$rss2}"
for mix in "60 30" "100 0" "0 100" "0 0"; do
  set -- $mix
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$here/rest_mixed.lua" "http://127.0.0.1:$port" -- "$tmp/ids" "$1" "$2" >"$tmp/wrk.out" 2>&1
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$tmp/wrk.out")
  errs=$(awk -F= '/errors_non2xx/ {print $2}' "$tmp/wrk.out")
  echo "{\"task\":\"rest-http-mix\",\"peer\":\"c-$be\",\"read_pct\":$1,\"search_pct\":$2,\"create_pct\":$((100 - $1 - $2)),\"connections\":$conns,\"seconds\":$secs,\"requests_per_s\":${rps:-0},\"p50\":\"$p50\",\"p99\":\"$p99\",\"non2xx\":${errs:-0}}"
done
rss3=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "{\"task\":\"rest-rss\",\"peer\":\"c-$be\",\"rss_end_kb\":$rss3}"
