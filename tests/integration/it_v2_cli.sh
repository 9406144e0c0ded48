#!/usr/bin/env bash
# it_v2_cli.sh — `causeway v2 parse|get|validate|ack` end to end: output and
# exit status on good, irregular and broken input, files and stdin.
set -euo pipefail
BIN=${CW_BINARY:?CW_BINARY not set}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'MSH|^~\\&|SEND|SF|RECV|RF|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5.1\rEVN|A01|20240101120000\rPID|1||123^^^H^MR~456^^^S^SS||Doe^John\\S\\Jr||19800101|M\rPV1|1|I\r' > "$T/good.hl7"
printf 'MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5.1\n\nPID|1||9\nMSH|^~\\&|A|B|C|D|2024||ADT^A01|2|P|2.5.1\nPID|1||8\n' > "$T/two.hl7"
printf 'MSH||broken\r' > "$T/broken.hl7"

# parse: tree, JSON, strict
out=$("$BIN" v2 parse "$T/good.hl7")
grep -q '^  PID-3\[2\].1 456$' <<<"$out" || fail "tree lacks PID-3[2].1: $out"
grep -q '^  PID-5.2 John^Jr$' <<<"$out" || fail "tree lacks decoded PID-5.2"
"$BIN" v2 parse "$T/good.hl7" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = d["messages"][0]
assert m["ok"] and m["version"] == "2.5.1" and m["type"] == "ADT^A01^ADT_A01", m
pid = m["segments"][2]
assert pid["id"] == "PID"
assert pid["fields"][2] == [["123", "", "", "H", "MR"], ["456", "", "", "S", "SS"]], pid["fields"][2]
assert pid["fields"][4] == [["Doe", "John^Jr"]], pid["fields"][4]
' || fail "JSON output"
"$BIN" v2 parse "$T/two.hl7" >/dev/null || fail "lenient parse of a file with a blank line"
if "$BIN" v2 parse "$T/two.hl7" --strict >/dev/null; then fail "strict parse accepted a blank line"; fi
if "$BIN" v2 parse "$T/broken.hl7" >/dev/null; then fail "broken message parsed"; fi
"$BIN" v2 parse - < "$T/good.hl7" | grep -q '^message 1: ADT^A01^ADT_A01' || fail "stdin"

# get: one line per message, decoded; absent -> 1; bad path -> 2
[ "$("$BIN" v2 get "$T/two.hl7" PID-3)" = "$(printf '9\n8')" ] || fail "get over two messages"
[ "$("$BIN" v2 get "$T/good.hl7" 'PID-3(2).5')" = "SS" ] || fail "get PID-3(2).5"
[ "$("$BIN" v2 get "$T/good.hl7" MSH-2)" = '^~\&' ] || fail "get MSH-2"
set +e
"$BIN" v2 get "$T/good.hl7" PID-40 >/dev/null 2>&1; [ $? = 1 ] || fail "absent path should exit 1"
"$BIN" v2 get "$T/good.hl7" 'PID-0' >/dev/null 2>&1; [ $? = 2 ] || fail "bad path should exit 2"
"$BIN" v2 get "$T/missing.hl7" PID-3 >/dev/null 2>&1; [ $? = 2 ] || fail "missing file should exit 2"
set -e

# validate: clean -> 0; errors -> 1 with code and location
"$BIN" v2 validate "$T/good.hl7" | grep -q '0 error(s)' || fail "good message has errors"
printf 'MSH|^~\\&|A|B|C|D|2024||ADT^A01^ADT_A01|1|P|2.5.1\rEVN|A01|2024\rPID|1||||Doe\r' > "$T/bad.hl7"
set +e
vout=$("$BIN" v2 validate "$T/bad.hl7"); rc=$?
set -e
[ $rc = 1 ] || fail "validate exit $rc"
grep -q 'error 101 PID-3:' <<<"$vout" || fail "no 101 at PID-3: $vout"
grep -q 'error 100 PV1:' <<<"$vout" || fail "no 100 at PV1: $vout"

# ack: AA for the good one, AE with ERR for the bad one, AR for the broken one
"$BIN" v2 ack "$T/good.hl7" | grep -q '^MSA|AA|MSG1$' || fail "AA"
"$BIN" v2 ack "$T/bad.hl7" | grep -q '^ERR||PID^1^3^1|101^Required field missing^HL70357|E|' || fail "AE/ERR"
"$BIN" v2 ack "$T/broken.hl7" | grep -q '^MSA|AR$' || fail "AR"
echo "it_v2_cli: ok"
