#!/usr/bin/env bash
# it_send_retry.sh — `causeway send --retry`: the sender reconnects and
# resends what was not acknowledged.
#
# 1. The receiver is not up yet when send starts: without --retry send
#    fails at once (exit 2); with --retry it waits, connects when the
#    server comes up, and every message gets AA.
# 2. The receiver is killed (SIGKILL) in the middle of a stream and
#    started again: send --retry reconnects, resends every message it had
#    no ACK for, and ends with AA for all of them; the server then holds
#    every message's Observations exactly once (resends are idempotent).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"
command -v python3 >/dev/null || { echo "SKIPPED: python3 is needed"; exit 77; }
command -v curl >/dev/null || { echo "SKIPPED: curl is needed"; exit 77; }

it_begin retry
spid=
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
mport=$(free_port)
hport=$(free_port)
serve() {
    "$CW_BINARY" serve --http 127.0.0.1:"$hport" --mllp 127.0.0.1:"$mport" --data "$tmp/data" \
        --log-level warn >>"$tmp/serve.out" 2>>"$tmp/serve.err" &
    spid=$!
    pids=("$spid")
}
wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$hport/health" && return 0; sleep 0.1; done; return 1; }

python3 "$here/mllp_stream.py" --write "$tmp/few.hl7" 5 --tag R1
python3 "$here/mllp_stream.py" --write "$tmp/many.hl7" 600 --start 100 --tag R2

# 1. nobody listening yet
"$CW_BINARY" send --quiet --timeout 2 127.0.0.1:"$mport" "$tmp/few.hl7" >"$tmp/s0.out" 2>&1
check "without --retry: no listener is exit 2" [ $? = 2 ]
"$CW_BINARY" send --retry 6 --timeout 5 127.0.0.1:"$mport" "$tmp/few.hl7" >"$tmp/s1.out" 2>"$tmp/s1.err" &
sender=$!
sleep 1.5
serve
wait_up || { echo "FAIL server did not start"; cat "$tmp/serve.err"; exit 1; }
wait "$sender"
rc=$?
check "with --retry: waited for the listener, all AA ($(cat "$tmp/s1.out"))" \
    bash -c "[ $rc = 0 ] && grep -q ': AA 5$' '$tmp/s1.out'"
check "with --retry: said it was reconnecting" grep -q "reconnecting in" "$tmp/s1.err"

# 2. the receiver dies mid-stream and comes back
"$CW_BINARY" send --retry 8 --timeout 5 --window 8 127.0.0.1:"$mport" "$tmp/many.hl7" >"$tmp/s2.out" 2>"$tmp/s2.err" &
sender=$!
for _ in $(seq 1 200); do
    n=$(curl -s "http://127.0.0.1:$hport/messages?limit=1000&status=processed" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 100 ] && break
    sleep 0.05
done
kill -KILL "$spid"
wait "$spid" 2>/dev/null
sleep 1
serve
wait_up || { echo "FAIL server did not restart"; cat "$tmp/serve.err"; exit 1; }
wait "$sender"
rc=$?
check "killed and restarted mid-stream: send --retry ends with AA for all 600 ($(cat "$tmp/s2.out"))" \
    bash -c "[ $rc = 0 ] && grep -q ': AA 600$' '$tmp/s2.out'"
check "the sender reconnected" grep -q "reconnecting in" "$tmp/s2.err"
got=$(curl -s "http://127.0.0.1:$hport/fhir/Provenance?_summary=count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
check "one Provenance per message (605), resends stored once: $got" [ "$got" = 605 ]
kill -TERM "$spid"; wait "$spid" 2>/dev/null; pids=()

it_end it_send_retry
