#!/usr/bin/env bash
# it_mllp_interop.sh — Causeway's MLLP against third-party MLLP peers from
# npm (pinned in tests/integration/interop/package-lock.json, installed
# with `npm ci` into the build folder, never into the repository):
#
#   node-hl7-client 3.2.0 (client)  -> our listener
#   simple-hl7 3.3.0 (client)       -> our listener
#   causeway send                   -> simple-hl7 3.3.0 (server)
#
# Every ACK must carry MSA-2 = the message's MSH-10; with the test stub
# builder every code must be AA, with the hl7v2 module's builder each peer
# must see the same number of AA as `causeway send` does. Skipped (77) when
# node/npm or the corpus are missing or the packages cannot be installed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"

corpus="${CW_CORPUS:-}/hl7v2"
[ -d "$corpus" ] || { echo "SKIPPED: shared corpus hl7v2/ not present"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIPPED: node/npm not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIPPED: python3 not installed"; exit 77; }

nm="${CW_BUILD_DIR:-/tmp}/interop-npm"
mkdir -p "$nm"
if ! cmp -s "$here/interop/package-lock.json" "$nm/package-lock.json" || [ ! -d "$nm/node_modules" ]; then
    cp "$here/interop/package.json" "$here/interop/package-lock.json" "$nm/"
    if ! (cd "$nm" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
        echo "SKIPPED: npm ci of the pinned peers failed:"; tail -5 "$nm/npm.log"; exit 77
    fi
fi
export NODE_PATH="$nm/node_modules"

tmp=$(mktemp -d /tmp/cw-it-interop-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
failures=0 pass=0
check() { local what=$1; shift; if "$@"; then pass=$((pass + 1)); echo "ok   $what  [${SECONDS}s]"; else failures=$((failures + 1)); echo "FAIL $what  [${SECONDS}s]"; fi; }

# The messages: every corpus message that is not itself an ACK (those get
# no reply), as \r-terminated segments.
mapfile -d '' files < <(find "$corpus" -type f -print0 | sort -z)
split_messages_py "$tmp/all" "${files[@]}" >/dev/null
mkdir -p "$tmp/msgs" "$tmp/std"
python3 - "$tmp/all" "$tmp/msgs" "$tmp/std" <<'PY'
import os, shutil, sys
src, dst, std = sys.argv[1], sys.argv[2], sys.argv[3]
for n in sorted(os.listdir(src)):
    b = open(os.path.join(src, n), 'rb').read()
    f = b.split(b'\r')[0].split(b[3:4])
    if len(f) > 8 and f[8][:3] == b'ACK': continue
    shutil.copy(os.path.join(src, n), os.path.join(dst, n))
    if b.startswith(b'MSH|^~\\&|'): shutil.copy(os.path.join(src, n), os.path.join(std, n))
PY
n=$(ls "$tmp/msgs" | wc -l)
echo "messages: $n"

start_mllp_server S "$tmp/srv" || exit 1
pids+=("$S_PID")
# How many of these messages the server accepts (AA), by our own client
# first: the peers must see the same. (With the test stub: all of them.)
ref=$("$CW_BINARY" send --quiet --window 8 127.0.0.1:"$S_PORT" "$tmp"/msgs/*.msg 2>/dev/null)
aa_ref=$(sed -n 's/.*[:,] AA \([0-9]*\).*/\1/p' <<<"$ref")
aa_ref=${aa_ref:-0}
echo "  reference (causeway send): $ref"
[ "$S_KIND" = test-stub ] && check "test stub accepts all $n" test "$aa_ref" = "$n"

out=$(cd "$nm" && timeout 300 node "$here/interop/peer.js" node-hl7-client-send "$S_PORT" "$tmp/msgs" 2>"$tmp/nhc.err")
rc=$?
echo "$out" | sed 's/^/  /'; [ $rc = 0 ] || tail -5 "$tmp/nhc.err"
out_nhc=$out
nrefused=$(grep -c '^client-refused=' <<<"$out")
n1=$((n - nrefused))
aa_nhc=$(sed -n 's/.* aa=\([0-9]*\) .*/\1/p' <<<"$out")
check "node-hl7-client -> causeway: every ACK for its own message, $aa_nhc AA (of $n1 sent; $nrefused the client itself cannot build)" \
    bash -c "[ $rc = 0 ] && [ $nrefused -le 2 ] && [ \$1 -le $aa_ref ] && [ \$1 -ge \$(( $aa_ref - $nrefused )) ]" _ "${aa_nhc:-0}"

out=$(cd "$nm" && timeout 300 node "$here/interop/peer.js" simple-hl7-send "$S_PORT" "$tmp/msgs" 2>"$tmp/sh.err")
rc=$?
echo "  $out"; [ $rc = 0 ] || tail -5 "$tmp/sh.err"; grep "^mismatch" "$tmp/sh.err" | sed "s/^/  /"
# simple-hl7 reads only |^~\& ACKs; our ACKs mirror the inbound delimiters, so
# the few messages with other delimiters get ACKs it cannot read (counted).
unread=$(sed -n 's/.*peer-cannot-read=\([0-9]*\).*/\1/p' <<<"$out" | tail -1)
unread=${unread:-0}
aa_sh=$(sed -n 's/.* aa=\([0-9]*\) .*/\1/p' <<<"$out")
check "simple-hl7 client -> causeway: every ACK for its own message, ${aa_sh:-0} AA (causeway send: $aa_ref; $unread ACKs with non-standard delimiters it cannot read)" \
    bash -c "[ $rc = 0 ] && [ $unread -le 40 ] && [ \$1 -le $aa_ref ] && [ \$1 -ge \$(( $aa_ref - $unread )) ]" _ "${aa_sh:-0}"

check "server stops cleanly" stop_mllp_server S
pids=()
refused=$(sed -n 's/^client-refused=\([^ ]*\).*/\1/p' <<<"$out_nhc" | paste -sd,)
# The peers turn bytes into JS strings and back, hence "peer" (see mllp_lib.sh).
check "journal holds the $((n1 + 2 * n)) messages of both peers and the reference run" \
    check_journal_py "$tmp/srv/journal.db" $((n1 + 2 * n)) peer "$refused" "$tmp/msgs" "$tmp/msgs" "$tmp/msgs"

# causeway send -> simple-hl7's server. Its server reads one frame per
# socket read, so it cannot take pipelined input: --window 1. Its parser
# assumes the standard delimiters "|^~\&" (it answers MSA-2 empty for
# "MSH^~|\&^..." or "MSH|^~}|..."), so only those messages go to it.
nstd=$(ls "$tmp/std" | wc -l)
echo "  to simple-hl7's server: $nstd messages with the standard delimiters (of $n)"
(cd "$nm" && exec node "$here/interop/peer.js" simple-hl7-server "$tmp/sh.port" >"$tmp/shs.out" 2>"$tmp/shs.err") &
spid=$!
pids+=("$spid")
for _ in $(seq 100); do [ -s "$tmp/sh.port" ] && break; sleep 0.1; done
sport=$(cat "$tmp/sh.port" 2>/dev/null)
out=$("$CW_BINARY" send --window 1 --quiet 127.0.0.1:"$sport" "$tmp"/std/*.msg 2>"$tmp/send.err")
rc=$?
echo "  $out"
check "causeway send -> simple-hl7 server: exit 0, AA $nstd" bash -c "[ $rc = 0 ] && grep -q 'AA $nstd\b' <<<\"\$1\"" _ "$out"
kill -TERM "$spid"; wait "$spid" 2>/dev/null
pids=()
echo "  $(cat "$tmp/shs.out")"
check "simple-hl7 server received $nstd" grep -q "received=$nstd\$" "$tmp/shs.out"

echo "$pass passed, $failures failed"
[ "$failures" = 0 ]
