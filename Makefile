# Causeway — the README's commands. Real work happens in CMake.
#
#   make run     install missing packages, build a release binary, start the server
#   make test    build with -Wall -Wextra -Werror under ASan+UBSan and run ctest; the store
#                tests also run on PostgreSQL: CW_TEST_PG=URL, or a throwaway local cluster
#                (scripts/pg-test-cluster.sh) when PostgreSQL is installed
#   make build   release build only (build/release/causeway)
#   make fuzz    build the libFuzzer targets with clang (build/fuzz/fuzz/*)
#   make bench   build the benchmarks (build/release/bench/*)
#   make format  clang-format every C file

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RUN_ARGS ?=
CTEST_ARGS ?=

.PHONY: run test build deps test-deps fuzz bench format clean

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

build: deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCW_TESTS=OFF
	cmake --build build/release -j $(JOBS)

run: build
	./build/release/causeway serve $(RUN_ARGS)

test: test-deps
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCW_SANITIZE=ON -DCW_WERROR=ON
	cmake --build build/asan -j $(JOBS)
	scripts/pg-test-cluster.sh run sh -c 'cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)'

fuzz:
	@scripts/deps.sh --dev
	cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCW_FUZZ=ON -DCW_TESTS=OFF
	cmake --build build/fuzz -j $(JOBS)

bench:
	@scripts/deps.sh --dev
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCW_BENCH=ON
	cmake --build build/release -j $(JOBS)

format:
	find src tests fuzz bench tools -name '*.[ch]' -print0 | xargs -0 clang-format -i

clean:
	rm -rf build
