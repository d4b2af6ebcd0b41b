#!/usr/bin/env bash
# The README's second command (and what .ci/run runs): install what is missing, build, and pass
# every test.
#   tools/test.sh           # everything CI runs: Release (all tests, install check, then the
#                           # stress label), ASan+UBSan (all tests but install and the 10 M-job
#                           # paging test), TSan (unit tests), core -fno-exceptions -fno-rtti
#                           # build, clang-format check
#   tools/test.sh --quick   # Release build and its tests only
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
JOBS=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

step() { printf '\n=== %s\n' "$*"; }
build() {  # build DIR CMAKE_ARGS...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS" >/dev/null
}

step "format check (clang-format --dry-run --Werror)"
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

step "Release build, all tests"
build build -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build --output-on-failure -j"$JOBS" --timeout 900 -LE stress
# The long runs (label stress), one at a time: 200 SIGKILLs of the LMDB store, 10 million stored
# jobs with bounded memory (~2 GB in $TMPDIR), the randomized multi-producer runs.
ctest --test-dir build --output-on-failure -j1 --timeout 1800 -L stress

[ $quick -eq 1 ] && exit 0

step "core build of engine/ and platform/ with -fno-exceptions -fno-rtti"
cmake -S . -B build-core -DCMAKE_BUILD_TYPE=Release -DAPS_CORE_ONLY=ON \
  -DCMAKE_CXX_FLAGS="-fno-exceptions -fno-rtti" >/dev/null
cmake --build build-core -j"$JOBS" >/dev/null

step "ASan+UBSan build, all tests"
build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPS_SANITIZE=address,undefined -DAPS_BUILD_BENCH=OFF
# (the 10-million-job paging test is left to the Release run: it measures memory)
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$JOBS" --timeout 900 \
  -LE install -E stores_paging_scale_test

step "TSan build, unit tests"
build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPS_SANITIZE=thread -DAPS_BUILD_BENCH=OFF
ctest --test-dir build-tsan --output-on-failure -j"$JOBS" --timeout 900 -L unit

step "all checks passed"
