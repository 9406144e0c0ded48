#!/usr/bin/env bash
# ingest_e2e.sh — end-to-end HL7 v2 ingest throughput: MLLP -> journal ->
# pipeline (convert + store transaction) -> ACK, measured from the sender.
#
#   bench/ingest_e2e.sh [BINARY] [--messages N] [--window W] [--connections C]
#                       [--store URL] [--runs R]
#
# Generates N ORU^R01 messages with 5-20 OBX each (tests/integration/
# mllp_stream.py --write; C senders with distinct MSH-4 so they spread over
# the ingest workers), starts `causeway serve` on a fresh data folder and
# loopback ports, and sends them with C concurrent `causeway send --window W`
# processes. Every message must come back AA. Prints one JSON line per run
# in the peers' format (task "v2-ingest-e2e"; items = messages; bytes = the
# message bytes), then the journal/store sizes on stderr. Not a test: timing
# never gates CI. BINARY defaults to build/release/causeway.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/release/causeway
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then bin=$1; shift; fi
n=20000 window=128 conns=4 store="" runs=1
while [ $# -gt 0 ]; do
    case $1 in
    --messages) n=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "ingest_e2e.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "ingest_e2e.sh: no binary at $bin (make build)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/cw-bench-ingest-XXXXXX)
spid=
trap '[ -n "$spid" ] && kill -TERM $spid 2>/dev/null; rm -rf "$tmp"' EXIT

per=$(( (n + conns - 1) / conns ))
for c in $(seq 1 "$conns"); do
    python3 "$root/tests/integration/mllp_stream.py" --write "$tmp/in$c.hl7" "$per" \
        --start $(( (c - 1) * per )) --tag "B$c"
done
bytes=$(cat "$tmp"/in*.hl7 | wc -c)
total=$(( per * conns ))

for run in $(seq 1 "$runs"); do
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    args=(serve --http 127.0.0.1:0 --mllp 127.0.0.1:0 --data "$tmp/data" --log-level warn)
    [ -n "$store" ] && args+=(--store "$store")
    "$bin" "${args[@]}" >"$tmp/serve.out" 2>"$tmp/serve.err" &
    spid=$!
    for _ in $(seq 1 100); do grep -q '^  mllp' "$tmp/serve.out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/^  mllp  [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/serve.out" | head -1)
    [ -n "$port" ] || { echo "ingest_e2e.sh: server did not start" >&2; cat "$tmp/serve.err" >&2; exit 1; }
    t0=$(date +%s.%N)
    pids=()
    for c in $(seq 1 "$conns"); do
        "$bin" send --quiet --window "$window" 127.0.0.1:"$port" "$tmp/in$c.hl7" >"$tmp/send$c.out" 2>&1 &
        pids+=($!)
    done
    ok=1
    for p in "${pids[@]}"; do wait "$p" || ok=0; done
    t1=$(date +%s.%N)
    aa=$(cat "$tmp"/send*.out | sed -n 's/.*AA \([0-9]*\).*/\1/p' | paste -sd+ | bc)
    kill -TERM "$spid"; wait "$spid" || true; spid=
    secs=$(echo "$t1 - $t0" | bc -l)
    errors=$(( total - ${aa:-0} ))
    [ "$ok" = 1 ] || echo "ingest_e2e.sh: a sender reported messages not AA: $(cat "$tmp"/send*.out)" >&2
    python3 -c 'import json,sys
n,b,s,e,w,c,run=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),int(sys.argv[4]),int(sys.argv[5]),int(sys.argv[6]),int(sys.argv[7])
print(json.dumps({"task":"v2-ingest-e2e","peer":"c","items":n,"bytes":b,"seconds":round(s,4),
 "items_per_s":round(n/s,1),"mb_per_s":round(b/1e6/s,2),"errors":e,"window":w,"connections":c,
 "store":sys.argv[8] or "sqlite","run":run}))' "$total" "$bytes" "$secs" "$errors" "$window" "$conns" "$run" "$store"
    du -sh "$tmp/data" >&2
done
