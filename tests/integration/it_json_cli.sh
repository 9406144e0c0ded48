#!/usr/bin/env bash
# it_json_cli.sh — `causeway json check|pretty` end to end: exit codes,
# FILE:LINE:COLUMN messages, exact pretty text, stdin, size cap, BOM, strict.
set -u
bin="${CW_BINARY:?CW_BINARY not set}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_rc() { # expected-rc description command...
  local want="$1" what="$2"; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" = "$want" ] || fail "$what: exit $rc, wanted $want ($(head -c 300 "$tmp/err"))"
}

printf '{\n  "resourceType": "Patient",\n  "id": "x" "active": true\n}\n' >"$tmp/bad.json"
printf '{"a":[1.50,-0,1e400,"\\u00e9\\n"],"b":{},"c":[]}' >"$tmp/good.json"
printf '\xef\xbb\xbf{"a":1,"a":2}' >"$tmp/dup.json"

expect_rc 0 "check good" "$bin" json check "$tmp/good.json"
[ -s "$tmp/out" ] && fail "check good printed something"
expect_rc 1 "check bad" "$bin" json check "$tmp/good.json" "$tmp/bad.json"
grep -qx "$tmp/bad.json:3:13: error: expected ',' or '}' after object member" "$tmp/err" ||
  fail "check bad message: $(cat "$tmp/err")"
expect_rc 0 "duplicates accepted by default (and BOM skipped)" "$bin" json check "$tmp/dup.json"
expect_rc 1 "duplicates rejected with --strict" "$bin" json check --strict "$tmp/dup.json"
grep -q "dup.json:1:11: error: duplicate key in object" "$tmp/err" || fail "strict message: $(cat "$tmp/err")"
expect_rc 2 "missing file" "$bin" json check "$tmp/nope.json"
grep -q "nope.json: error: cannot read" "$tmp/err" || fail "missing file message"
expect_rc 1 "size cap" "$bin" json check --max-bytes 10 "$tmp/good.json"
grep -q "larger than the limit of 10 bytes" "$tmp/err" || fail "size cap message"
expect_rc 0 "stdin" bash -c "\"$bin\" json check - < \"$tmp/good.json\""
expect_rc 1 "stdin bad" bash -c "\"$bin\" json check - < \"$tmp/bad.json\""
grep -q "^<stdin>:3:13: error:" "$tmp/err" || fail "stdin name in message"

expect_rc 0 "pretty" "$bin" json pretty "$tmp/good.json"
printf '{\n  "a": [\n    1.50,\n    -0,\n    1e400,\n    "\xc3\xa9\\n"\n  ],\n  "b": {},\n  "c": []\n}\n' >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || fail "pretty text: $(cat "$tmp/out")"
expect_rc 0 "pretty --compact" "$bin" json pretty --compact "$tmp/good.json"
printf '{"a":[1.50,-0,1e400,"\xc3\xa9\\n"],"b":{},"c":[]}\n' >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want" || fail "compact text: $(cat "$tmp/out")"
expect_rc 0 "pretty --indent 4 from stdin" bash -c "\"$bin\" json pretty --indent 4 - < \"$tmp/good.json\""
head -2 "$tmp/out" | tail -1 | grep -qx '    "a": \[' || fail "indent 4"
expect_rc 1 "pretty bad" "$bin" json pretty "$tmp/bad.json"
[ -s "$tmp/out" ] && fail "pretty bad wrote output"
expect_rc 2 "pretty two files" "$bin" json pretty "$tmp/good.json" "$tmp/good.json"
expect_rc 2 "bad indent" "$bin" json pretty --indent 0 "$tmp/good.json"
expect_rc 2 "unknown option" "$bin" json check --bogus "$tmp/good.json"
expect_rc 2 "no files" "$bin" json check
expect_rc 0 "help" "$bin" json --help
grep -q "usage: causeway json check" "$tmp/out" || fail "help text on stdout"
expect_rc 0 "causeway help json" "$bin" help json

# Real data, when the corpus is there: every FHIR example is valid, strictly.
if [ -n "${CW_CORPUS:-}" ] && [ -d "$CW_CORPUS/fhir-r4-examples/synthea" ]; then
  expect_rc 0 "synthea strict" "$bin" json check --strict "$CW_CORPUS"/fhir-r4-examples/synthea/*.json
  f="$(ls "$CW_CORPUS"/fhir-r4-examples/synthea/*.json | head -1)"
  "$bin" json pretty --indent 4 "$f" | head -c -1 | cmp -s - "$f" || fail "synthea pretty --indent 4 not identical"
fi
if [ -n "${CW_CORPUS:-}" ] && [ -d "$CW_CORPUS/validator-tests" ]; then
  for f in "$CW_CORPUS"/validator-tests/bad-json-close-*.json; do
    [ -e "$f" ] || continue
    expect_rc 1 "malformed $(basename "$f")" "$bin" json check "$f"
    grep -Eq "^$f:[0-9]+:[0-9]+: error: " "$tmp/err" || fail "position for $(basename "$f"): $(cat "$tmp/err")"
  done
fi

if [ "$fails" -ne 0 ]; then echo "it_json_cli: $fails failure(s)"; exit 1; fi
echo "it_json_cli: all checks passed"
