#!/usr/bin/env bash
# run_hl7v2.sh — build and run the fuzz_hl7v2 libFuzzer target.
#
#   fuzz/run_hl7v2.sh [SECONDS] [extra libFuzzer flags...]
#
# (A minimal runner for the HL7 v2 target until a shared fuzz/run.sh exists.)
# Seeds are assembled at run time into build/fuzz/corpus-hl7v2 from our own
# seeds (fuzz/seeds/hl7v2) and, when the shared corpus is present, from
# ../shared/corpus/hl7v2 and hl7v2-malformed (copied, never committed).
# One worker (-jobs=1, -workers=1) so the shared 2-core machine stays usable;
# crashes land in build/fuzz/artifacts-hl7v2/, the log in build/fuzz/fuzz-0.log.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
B=build/fuzz
if [ ! -x "$B/fuzz/fuzz_hl7v2" ] || [ -n "$(find src/hl7v2 fuzz/fuzz_hl7v2.c -newer "$B/fuzz/fuzz_hl7v2" 2>/dev/null | head -1)" ]; then
  cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCW_FUZZ=ON -DCW_TESTS=OFF -DCW_WERROR=OFF >/dev/null
  cmake --build "$B" -j2 --target fuzz_hl7v2
fi
corpus="$B/corpus-hl7v2"
mkdir -p "$corpus" "$B/artifacts-hl7v2"
cp -n fuzz/seeds/hl7v2/* "$corpus/" 2>/dev/null || true
shared=${CW_CORPUS:-../shared/corpus}
if [ -d "$shared/hl7v2" ]; then
  n=0
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    cp -n "$f" "$corpus/shared-$n" 2>/dev/null || true
  done < <(find "$shared/hl7v2" "$shared/hl7v2-malformed" -type f -print0 | sort -z)
fi
echo "run_hl7v2: $(ls "$corpus" | wc -l) inputs in $corpus; ${secs}s" >&2
cd "$B"
exec ./fuzz/fuzz_hl7v2 -max_total_time="$secs" -jobs=1 -workers=1 -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -dict=../../fuzz/hl7v2.dict -artifact_prefix=artifacts-hl7v2/ "$@" corpus-hl7v2
