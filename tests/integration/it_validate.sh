#!/usr/bin/env bash
# it_validate.sh — `causeway validate` end to end: JSON and XML input, the
# OperationOutcome on stdout, exit statuses (0 valid, 1 an error, 2 usage),
# --profile with a core profile, --load-profile with a registry profile,
# and no data values in the output.
set -euo pipefail
BIN=${CW_BINARY:?CW_BINARY not set}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
NARR='"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}'

cat > "$T/ok.json" <<JSON
{"resourceType":"Patient","id":"p1",$NARR,"gender":"female","birthDate":"1970-01-01"}
JSON
"$BIN" validate "$T/ok.json" > "$T/out" 2> "$T/err" || fail "valid resource: exit $?"
grep -q '"resourceType": "OperationOutcome"' "$T/out" || fail "no OperationOutcome"
grep -q '"severity": "information"' "$T/out" || fail "no information issue for a clean resource"

# the same as XML
"$BIN" convert --to xml "$T/ok.json" > "$T/ok.xml"
"$BIN" validate "$T/ok.xml" > /dev/null 2>&1 || fail "valid XML resource"

# an error: exit 1, FHIRPath location, no value
cat > "$T/bad.json" <<JSON
{"resourceType":"Patient",$NARR,"gender":"SECRETVALUE","name":[{"given":["a",""]}]}
JSON
set +e
"$BIN" validate --compact "$T/bad.json" > "$T/out" 2> "$T/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "invalid resource exit $rc"
grep -q '"expression":\["Patient.gender"\]' "$T/out" || fail "location of the binding error"
grep -q '"expression":\["Patient.name\[0\].given\[1\]"\]' "$T/out" || fail "location of the empty string"
grep -q SECRET "$T/out" "$T/err" && fail "a data value leaked into the output"

# several files: one outcome each, exit 1 when any has an error
set +e
"$BIN" validate --compact "$T/ok.json" "$T/bad.json" > "$T/out" 2> /dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "mixed files exit $rc"
[ "$(grep -c OperationOutcome "$T/out")" -eq 2 ] || fail "one outcome per file"

# malformed JSON: a fatal issue, exit 1
printf '{"resourceType":"Patient",' > "$T/broken.json"
set +e
"$BIN" validate --compact "$T/broken.json" > "$T/out" 2> /dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "malformed exit $rc"
grep -q '"severity":"fatal"' "$T/out" || fail "malformed: no fatal issue"

# --profile with a core profile
cat > "$T/obs.json" <<JSON
{"resourceType":"Observation",$NARR,"status":"final","code":{"text":"t"}}
JSON
"$BIN" validate "$T/obs.json" > /dev/null 2>&1 || fail "plain Observation"
set +e
"$BIN" validate --compact --profile http://hl7.org/fhir/StructureDefinition/vitalsigns "$T/obs.json" > "$T/out" 2> /dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "vitalsigns profile exit $rc"
grep -q '"expression":\["Observation.subject"\]' "$T/out" || fail "profile cardinality"

# --load-profile: a registry profile requiring gender
cat > "$T/sd.json" <<'JSON'
{"resourceType":"StructureDefinition","url":"http://example.org/sd/g","name":"G","status":"draft",
 "kind":"resource","abstract":false,"type":"Patient","derivation":"constraint",
 "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient",
 "differential":{"element":[{"id":"Patient.gender","path":"Patient.gender","min":1}]}}
JSON
cat > "$T/nog.json" <<JSON
{"resourceType":"Patient",$NARR}
JSON
"$BIN" validate "$T/nog.json" > /dev/null 2>&1 || fail "no profile: valid"
set +e
"$BIN" validate --compact --load-profile "$T/sd.json" --profile http://example.org/sd/g "$T/nog.json" > "$T/out" 2> /dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "registry profile exit $rc"
grep -q '"expression":\["Patient.gender"\]' "$T/out" || fail "registry profile min"

# usage
set +e
"$BIN" validate > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "usage exit $rc"
echo "it_validate: ok"
