#!/usr/bin/env bash
# it_convert.sh — `causeway convert` end to end: format detection, stdin,
# --pretty, --lenient, exit statuses, and JSON -> XML -> JSON -> XML giving
# the same XML bytes on real resources (corpus fhir-r4-examples).
set -euo pipefail
BIN=${CW_BINARY:?CW_BINARY not set}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# a small resource written here
cat > "$T/p.json" <<'JSON'
{"resourceType":"Patient","id":"x","active":true,"name":[{"given":["A",null],"_given":[null,{"extension":[{"url":"http://e","valueString":"B"}]}]}],"birthDate":"1970"}
JSON
"$BIN" convert --to xml "$T/p.json" > "$T/p.xml"
grep -q '<Patient xmlns="http://hl7.org/fhir">' "$T/p.xml" || fail "no FHIR root"
grep -q '<given><extension url="http://e"><valueString value="B"/></extension></given>' "$T/p.xml" || fail "primitive extension"
"$BIN" convert "$T/p.xml" > "$T/p2.json"            # detected as FHIR XML, --to json is the default
cmp -s <(tr -d '\n' < "$T/p.json") <(tr -d '\n' < "$T/p2.json") || fail "JSON -> XML -> JSON differs"
"$BIN" convert --to xml - < "$T/p.json" | cmp -s - "$T/p.xml" || fail "stdin"
"$BIN" convert --pretty --to xml "$T/p.json" | grep -q '^  <active value="true"/>$' || fail "--pretty"
"$BIN" convert --from fhir-json --to json -o "$T/o.json" "$T/p.json"
[ -s "$T/o.json" ] || fail "-o"

# errors: exit 1 with a location, never the value
printf '<Patient xmlns="http://hl7.org/fhir"><foo value="SECRET"/></Patient>' > "$T/bad.xml"
set +e
"$BIN" convert "$T/bad.xml" > /dev/null 2> "$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad input exit $rc"
grep -q 'bad.xml:1:.*Patient.foo: unknown element' "$T/err" || fail "error message: $(cat "$T/err")"
grep -q SECRET "$T/err" && fail "value echoed"
"$BIN" convert --lenient "$T/bad.xml" > "$T/l.json" 2> "$T/warn" || fail "lenient"
grep -q 'warning' "$T/warn" || fail "no warning"
printf '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Patient xmlns="http://hl7.org/fhir"/>' > "$T/dt.xml"
set +e
"$BIN" convert "$T/dt.xml" > "$T/out" 2> "$T/err"; rc=$?
"$BIN" convert --to yaml "$T/p.json" > /dev/null 2>&1; rc2=$?
"$BIN" convert > /dev/null 2>&1; rc3=$?
set -e
[ $rc -eq 1 ] || fail "DOCTYPE exit $rc"
grep -q DOCTYPE "$T/err" || fail "DOCTYPE message"
grep -q root: "$T/out" "$T/err" && fail "file contents leaked"
[ $rc2 -eq 2 ] || fail "unknown format exit $rc2"
[ $rc3 -eq 2 ] || fail "no input exit $rc3"

# real resources: JSON -> XML -> JSON -> XML gives the same XML
DIR="${CW_CORPUS:-}/fhir-r4-examples/spec-examples"
if [ -d "$DIR" ]; then
  n=0
  for f in "$DIR"/Patient-*.json "$DIR"/Bundle-bundle-*.json "$DIR"/Questionnaire-*.json; do
    [ $n -lt 24 ] || break
    "$BIN" convert --to xml "$f" > "$T/a.xml"
    "$BIN" convert "$T/a.xml" | "$BIN" convert --to xml - > "$T/b.xml"
    cmp -s "$T/a.xml" "$T/b.xml" || fail "not stable: $f"
    n=$((n + 1))
  done
  echo "it_convert: $n corpus resources stable through JSON -> XML -> JSON -> XML"
fi
echo "it_convert: ok"
