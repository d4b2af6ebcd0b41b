#!/usr/bin/env bash
# check_install.sh BUILD_DIR CONSUMER_SRC SCRATCH: install, then build and run the consumer twice.
set -euo pipefail
build=$1 src=$2 scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
# 1. CMake package.
cmake -S "$src" -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/cmake-build" >/dev/null
"$scratch/cmake-build/consumer"
# 2. pkg-config.
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig:$scratch/prefix/lib/x86_64-linux-gnu/pkgconfig"
g++ -o "$scratch/consumer-pc" "$src/consumer.cc" $(pkg-config --cflags aps) $(pkg-config --libs --static aps)
"$scratch/consumer-pc"
echo "install check: find_package(aps) and pkg-config consumers built and ran"
