#!/usr/bin/env bash
# run.sh — build and run one libFuzzer target with its seed corpus.
#
#   fuzz/run.sh TARGET SECONDS [LIBFUZZER_ARGS...]
#   fuzz/run.sh json 1800                  # fuzz/fuzz_json.c for 30 minutes
#   fuzz/run.sh json 60 -max_len=4096      # extra libFuzzer flags pass through
#
# Works for every fuzz/fuzz_TARGET.c:
#  - configures build/fuzz with clang (-DCW_FUZZ=ON) when needed and builds
#    fuzz_TARGET (FUZZ_BUILD_DIR overrides the folder);
#  - assembles the corpus in build/fuzz/corpus-TARGET from our own seeds in
#    fuzz/seeds/TARGET/ plus, when fuzz/seeds/TARGET.corpus exists, the files
#    of the shared third-party corpus it names (globs relative to
#    $CW_CORPUS, default ../shared/corpus; files over 64 KiB are skipped).
#    Those are copied at run time into the build folder and never committed.
#    The folder is kept between runs, so each run resumes from the last;
#  - uses fuzz/dict/TARGET.dict as a dictionary when it exists;
#  - runs for SECONDS (-max_total_time), crashes go to
#    build/fuzz/artifacts-TARGET/, and prints the final statistics.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  echo "usage: fuzz/run.sh TARGET SECONDS [LIBFUZZER_ARGS...]" >&2
  exit 2
fi
target="$1" secs="$2"
shift 2
if [ ! -f "fuzz/fuzz_$target.c" ]; then
  echo "run.sh: no fuzz/fuzz_$target.c (targets: $(ls fuzz/fuzz_*.c 2>/dev/null | sed 's|fuzz/fuzz_||; s|\.c$||' | tr '\n' ' '))" >&2
  exit 2
fi
case "$secs" in '' | *[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac

build="${FUZZ_BUILD_DIR:-build/fuzz}"
shared="${CW_CORPUS:-../shared/corpus}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCW_FUZZ=ON -DCW_TESTS=OFF >/dev/null
else
  cmake -S . -B "$build" >/dev/null # a target added since the last configure
fi
cmake --build "$build" -j2 --target "fuzz_$target" >/dev/null

corpus="$build/corpus-$target"
artifacts="$build/artifacts-$target"
mkdir -p "$corpus" "$artifacts"
own=0 third=0
if [ -d "fuzz/seeds/$target" ]; then
  for f in "fuzz/seeds/$target"/*; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/seed-$(basename "$f")"
    own=$((own + 1))
  done
fi
if [ -f "fuzz/seeds/$target.corpus" ]; then
  if [ -d "$shared" ]; then
    while IFS= read -r pattern; do
      case "$pattern" in '' | '#'*) continue ;; esac
      for f in $shared/$pattern; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 65536 ] || continue
        rel="${f#"$shared"/}"
        cp "$f" "$corpus/shared-${rel//\//_}"
        third=$((third + 1))
      done
    done <"fuzz/seeds/$target.corpus"
  else
    echo "run.sh: shared corpus $shared not found; using our own seeds only" >&2
  fi
fi
dict=()
[ -f "fuzz/dict/$target.dict" ] && dict=("-dict=fuzz/dict/$target.dict")
echo "run.sh: fuzz_$target for ${secs}s; seeds: $own own, $third from the shared corpus; corpus $corpus ($(ls "$corpus" | wc -l) files)" >&2

start=$(date +%s)
set +e
"$build/fuzz/fuzz_$target" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "${dict[@]}" "$@" "$corpus"
rc=$?
set -e
echo "run.sh: fuzz_$target exited $rc after $(($(date +%s) - start))s; corpus now $(ls "$corpus" | wc -l) files; artifacts: $(ls "$artifacts" | wc -l)" >&2
exit $rc
