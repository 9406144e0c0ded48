#!/usr/bin/env bash
# it_rest_fhirkit.sh — drive the server with the npm FHIR client
# fhir-kit-client (tests/integration/fhirkit: pinned by package.json +
# package-lock.json, installed with `npm ci` into the build tree, never into
# the repository), on SQLite and (with CW_TEST_PG) PostgreSQL.
. "$(dirname "$0")/rest_lib.sh"
rest_init it_rest_fhirkit
src="$(cd "$(dirname "$0")/fhirkit" && pwd)"
nm="${CW_BUILD_DIR:-$tmp}/it-node/fhirkit"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIPPED: node/npm not installed"; exit 77; }
if [ ! -d "$nm/node_modules/fhir-kit-client" ] || [ "$src/package-lock.json" -nt "$nm/node_modules" ]; then
  mkdir -p "$nm"
  cp "$src/package.json" "$src/package-lock.json" "$nm/"
  (cd "$nm" && npm ci --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) ||
    { echo "SKIPPED: npm ci failed (no registry access?): $(tail -3 "$tmp/npm.log")"; exit 77; }
  touch "$nm/node_modules"
fi
cp "$src/fhirkit_test.mjs" "$nm/"
for be in $(rest_backends); do
  rest_start "$be" || continue
  echo "backend $be"
  node "$nm/fhirkit_test.mjs" "$B" || fails=$((fails + 1))
  rest_stop
done
rest_done it_rest_fhirkit
