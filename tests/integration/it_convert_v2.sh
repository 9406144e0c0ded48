#!/usr/bin/env bash
# it_convert_v2.sh — `causeway convert` on HL7 v2: detection by content and
# by .hl7 name, the transaction Bundle on stdout, --report on stderr (with
# locations, never values), several messages -> one Bundle per line, XML
# output, and the exit status of a message that cannot be converted.
set -euo pipefail
BIN=${CW_BINARY:?CW_BINARY not set}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'MSH|^~\\&|LAB|ACME|EHR|HOSP|20240102030405-0500||ORU^R01^ORU_R01|M1|P|2.5.1\rPID|1||12345^^^HOSP^MR||Doe^Jane||19800101|F\rOBR|1|PL1|FL1|24323-8^CMP^LN\rOBX|1|NM|2345-7^Glucose^LN||95|mg/dL^^UCUM|||||F\rZXY|1|SECRETZ\r' > "$T/m.txt"
"$BIN" convert "$T/m.txt" > "$T/b.json" 2> "$T/err"         # detected: starts with MSH
grep -q '"resourceType":"Bundle"' "$T/b.json" || fail "no Bundle"
grep -q '"type":"transaction"' "$T/b.json" || fail "not a transaction"
grep -q '"method":"PUT","url":"Observation/' "$T/b.json" || fail "no Observation PUT"
[ -s "$T/err" ] && fail "stderr without --report: $(cat "$T/err")"
cp "$T/m.txt" "$T/m.hl7"
"$BIN" convert "$T/m.hl7" | cmp -s - "$T/b.json" || fail "same message, different bundle"
"$BIN" convert --report "$T/m.hl7" > /dev/null 2> "$T/rep"
grep -q '^ZXY	segment	' "$T/rep" || fail "report: $(cat "$T/rep")"
grep -q SECRETZ "$T/rep" && fail "value in the report"
"$BIN" convert --to xml "$T/m.hl7" | grep -q '<Bundle xmlns="http://hl7.org/fhir">' || fail "xml output"
# two messages -> two lines
{ cat "$T/m.txt"; printf '\n'; sed 's/M1/M2/' "$T/m.txt"; } > "$T/two.hl7"
[ "$("$BIN" convert "$T/two.hl7" | wc -l)" -eq 2 ] || fail "two messages"
# a message that cannot be converted: exit 1, v2 code and location on stderr
printf 'MSH|^~\\&|A|F|||20240101||ADT^A01|E1|P|2.5.1\rPV1|1|I\r' > "$T/bad.hl7"
set +e
"$BIN" convert "$T/bad.hl7" > /dev/null 2> "$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "exit $rc"
grep -q 'PID: PID segment missing (v2 error 100)' "$T/err" || fail "error: $(cat "$T/err")"
echo "it_convert_v2: ok"
