#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job.
#   tools/run.sh            # build (Release) into build/ and run `aps demo`
#   tools/run.sh ARGS...    # pass ARGS to `aps demo` instead
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target aps >/dev/null
exec build/tools/aps/aps demo "$@"
