#!/usr/bin/env bash
# it_rest_synthea.sh — load every Synthea bundle of the shared corpus into the
# running server as transactions (SQLite, and PostgreSQL when CW_TEST_PG is
# set) and check searches by patient, LOINC code, date range, _include,
# _revinclude, chains and _has against counts computed independently from
# the bundles (tests/integration/synthea_check.py).
. "$(dirname "$0")/rest_lib.sh"
rest_init it_rest_synthea
dir="${CW_CORPUS:-}/fhir-r4-examples/synthea"
[ -d "$dir" ] || { echo "SKIPPED: corpus fhir-r4-examples/synthea not found"; exit 77; }

for be in $(rest_backends); do
  rest_start "$be" || continue
  echo "backend $be"
  "$PY" "$(dirname "$0")/synthea_check.py" "$B" "$dir" || fails=$((fails + 1))
  rest_stop
done
rest_done it_rest_synthea
