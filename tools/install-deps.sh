#!/usr/bin/env bash
# Installs the Debian packages aps needs to build, test and benchmark — only those missing.
# Idempotent and fast when everything is present (one dpkg-query, no apt-get call).
#   tools/install-deps.sh            # what the build and tests need
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config git python3
  tzdata libcctz-dev                       # IANA time zones (cctz)
  libconcurrentqueue-dev                   # engine: moodycamel's lock-free queue (executors)
  libgtest-dev libgmock-dev                # unit tests
  libbenchmark-dev                         # bench/
  libboost-dev                             # bench/timing_wheel_bench: the Boost.Asio baseline
  libcli11-dev nlohmann-json3-dev          # the aps CLI
  liblmdb-dev                              # stores/lmdb: the persistent job store
  libsqlite3-dev                           # bench/store_bench: the SQLite baseline
  python3-apscheduler                      # the reference oracle of the differential test
  clang-format                             # the format check
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
