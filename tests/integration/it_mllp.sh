#!/usr/bin/env bash
# it_mllp.sh — MLLP end to end: the real server (HTTP + journal + MLLP
# listener, in a temporary data dir on free loopback ports) and the real
# `causeway send`.
#
# Checks: every corpus message (../shared/corpus/hl7v2) is acknowledged AA,
# pipelined (window 32) and one at a time, from files and from stdin; an
# unsupported message type is refused (exit 1, not AA) and recorded as an
# error in the journal; the journal then holds exactly the messages sent;
# MLLP over TLS works with --ca and is refused without it; the server stops
# cleanly on SIGTERM. Which ACK builder answers is printed: the hl7v2
# module's in causeway, or the test stub (see mllp_lib.sh) until it lands.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"

corpus="${CW_CORPUS:-}/hl7v2"
if [ ! -d "$corpus" ]; then echo "SKIPPED: shared corpus hl7v2/ not present"; exit 77; fi
command -v python3 >/dev/null || { echo "SKIPPED: python3 is needed to read the journal"; exit 77; }

tmp=$(mktemp -d /tmp/cw-it-mllp-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
failures=0
pass=0
check() { # description, then command
    local what=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $what  [${SECONDS}s]"; else failures=$((failures + 1)); echo "FAIL $what  [${SECONDS}s]"; fi
}

mapfile -d '' files < <(find "$corpus" -type f -print0 | sort -z)
read -r total acks < <(split_messages_py "$tmp/expected" "${files[@]}")
echo "corpus: ${#files[@]} files, $total messages ($acks of type ACK)"

start_mllp_server A "$tmp/a" || exit 1
pids+=("$A_PID")

# 1. The whole corpus, pipelined; 2. again, one message at a time.
# With the test stub every message must be AA. With the hl7v2 module's ACK
# builder some deliberately broken corpus messages may be refused (AE/AR):
# then every message must still get its own ACK (none missing, none for
# another control id, none unreadable), both runs must agree, and each
# refusal must be recorded in the journal (checked below).
summ() { # the codes part of the summary line, sorted: "AA 750, AE 7"
    sed -n 's/.*msg\/s): //p' <<<"$1" | tr ',' '\n' | sed 's/^ *//' | grep -v '^ACK messages' | sort | paste -sd, -
}
out1=$("$CW_BINARY" send --window 32 --quiet 127.0.0.1:"$A_PORT" "${files[@]}" 2>"$tmp/send1.err")
rc1=$?
echo "  $out1"
out2=$("$CW_BINARY" send --window 1 --quiet 127.0.0.1:"$A_PORT" "${files[@]}" 2>/dev/null)
rc2=$?
echo "  $out2"
check "corpus: every message acknowledged (none missing, mismatched or unreadable)" \
    bash -c "! grep -Eq 'no ACK|another|unreadable|other code' <<<\"\$1\$2\"" _ "$out1" "$out2"
check "corpus: pipelined and one-at-a-time give the same codes" test "$(summ "$out1")" = "$(summ "$out2")"
check "corpus: $total messages sent, $acks of them ACKs (not acknowledged)" \
    bash -c "grep -q 'sent $total messages' <<<\"\$1\" && grep -q 'not acknowledged) $acks' <<<\"\$1\"" _ "$out1"
corpus_refused=$(python3 -c "import re,sys; print(sum(int(n) for n in re.findall(r'\b[AC][ER] (\d+)', sys.argv[1])))" "$out1")
if [ "$A_KIND" = test-stub ]; then
    check "corpus (test stub): all AA, exit 0" bash -c "[ $rc1 = 0 ] && [ $rc2 = 0 ] && grep -q 'AA $((total - acks))\b' <<<\"\$1\"" _ "$out1"
else
    echo "  corpus messages refused by the ACK builder: $corpus_refused per run"
    check "corpus: exit status says whether anything was refused" \
        bash -c "if [ \$1 = 0 ]; then [ $rc1 = 0 ]; else [ $rc1 = 1 ]; fi" _ "$corpus_refused"
fi

# 3. Standard input (a batch file: FHS/BHS envelope, several messages).
batch=$(grep -c '^MSH' -r "$corpus" | grep -v ':[01]$' | head -1 | cut -d: -f1)
read -r nbatch _ < <(split_messages_py "$tmp/batch" "$batch")
out=$("$CW_BINARY" send 127.0.0.1:"$A_PORT" - <"$batch" 2>/dev/null)
rc=$?
echo "  stdin ($nbatch messages from $(basename "$batch")): $out"
check "stdin batch: exit 0, $nbatch messages" bash -c "[ $rc = 0 ] && grep -q 'sent $nbatch message' <<<\"\$1\"" _ "$out"

# 4. An unsupported message type: refused, exit 1.
printf 'MSH|^~\\&|IT|IT|CW|CW|20260101000000||ZZZ^Z99|ITZZZ1|P|2.5\rPID|1||123\r' >"$tmp/zzz.hl7"
out=$("$CW_BINARY" send 127.0.0.1:"$A_PORT" "$tmp/zzz.hl7" 2>"$tmp/zzz.err")
rc=$?
echo "  unsupported: $out"
check "unsupported type: exit 1, not AA" bash -c "[ $rc = 1 ] && ! grep -q 'AA' <<<\"\$1\" && grep -Eq 'AR|AE' <<<\"\$1\"" _ "$out"
check "unsupported type: reported by control id" grep -q "ITZZZ1" "$tmp/zzz.err"

# 5. Nothing listening: exit 2.
"$CW_BINARY" send --timeout 2 127.0.0.1:1 "$tmp/zzz.hl7" >/dev/null 2>&1
check "connection refused: exit 2" test $? = 2

check "server A stops cleanly on SIGTERM" stop_mllp_server A
pids=()

# The journal holds exactly what was sent: corpus twice, the batch, the ZZZ message.
mkdir -p "$tmp/zzz"
cp "$tmp/zzz.hl7" "$tmp/zzz/zzz.msg"
expected_rows=$((2 * total + nbatch + 1))
check "journal holds exactly the $expected_rows messages sent" \
    check_journal_py "$tmp/a/journal.db" "$expected_rows" exact "" "$tmp/expected" "$tmp/expected" "$tmp/batch" "$tmp/zzz"
check "journal: each refused message is status error with its ACK and error code" \
    python3 - "$tmp/a/journal.db" "$((2 * corpus_refused + 1))" <<'PY'
import sqlite3, sys
con = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True)
rows = con.execute("SELECT status, ack_code, error_code, error_location FROM message WHERE status = 'error'").fetchall()
print('  error rows: %d, e.g. %s' % (len(rows), rows[:3]))
sys.exit(0 if len(rows) == int(sys.argv[2]) and all(r[1] in ('AR', 'AE', 'CR', 'CE') and r[2] for r in rows) else 1)
PY

# 6. TLS.
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=causeway-it \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    start_mllp_server B "$tmp/b" --mllp-tls-cert "$tmp/cert.pem" --mllp-tls-key "$tmp/key.pem" || exit 1
    pids+=("$B_PID")
    sub=("${files[@]:0:50}")
    read -r nsub nsubacks < <(split_messages_py "$tmp/sub" "${sub[@]}")
    out=$("$CW_BINARY" send --tls --ca "$tmp/cert.pem" --quiet 127.0.0.1:"$B_PORT" "${sub[@]}" 2>/dev/null)
    rc=$?
    echo "  tls: $out"
    if [ "$B_KIND" = test-stub ]; then
        check "TLS with --ca: exit 0, AA $((nsub - nsubacks))" bash -c "[ $rc = 0 ] && grep -q 'AA $((nsub - nsubacks))\b' <<<\"\$1\"" _ "$out"
    else
        check "TLS with --ca: every message acknowledged" bash -c "[ $rc != 2 ] && grep -q 'sent $nsub messages' <<<\"\$1\" && ! grep -Eq 'no ACK|another|unreadable' <<<\"\$1\"" _ "$out"
    fi
    "$CW_BINARY" send --tls --timeout 5 127.0.0.1:"$B_PORT" "${sub[0]}" >/dev/null 2>"$tmp/tls.err"
    rc=$?
    check "TLS without trusting the certificate: refused (exit 2)" bash -c "[ $rc = 2 ] && grep -qi 'certificate' '$tmp/tls.err'"
    "$CW_BINARY" send --timeout 3 127.0.0.1:"$B_PORT" "${sub[0]}" >/dev/null 2>&1
    check "plain MLLP to the TLS port: no AA (exit != 0)" test $? != 0
    check "server B stops cleanly" stop_mllp_server B
    pids=()
    check "TLS journal holds the $nsub messages" check_journal_py "$tmp/b/journal.db" "$nsub" exact "" "$tmp/sub"
else
    echo "note: openssl command not found, TLS part not run"
fi

echo "$pass passed, $failures failed"
[ "$failures" = 0 ]
