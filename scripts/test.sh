#!/usr/bin/env bash
# Installs dependencies, builds build/ (RelWithDebInfo, warnings as errors)
# and runs every test (unit + e2e) with ctest. Non-zero on any failure.
#   JOBS=N         build/test parallelism (default: nproc, at most 2)
#   CTEST_ARGS=..  extra ctest arguments (e.g. "-L unit" or "-R e2e_pipeline")
#   BUILD_DIR=dir  build directory (default: build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS="${JOBS:-$(nproc)}"
if [ "$JOBS" -gt 2 ]; then JOBS=2; fi
BUILD="${BUILD_DIR:-build}"

bash scripts/install-deps.sh

log="$(mktemp)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDHOSE_WERROR=ON -DSHARDHOSE_KILL_POINTS=ON >"$log" 2>&1 || {
  cat "$log" >&2; rm -f "$log"; echo "test.sh: cmake configure failed" >&2; exit 1; }
rm -f "$log"
cmake --build "$BUILD" -j"$JOBS"

# shellcheck disable=SC2086
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" ${CTEST_ARGS:-}
