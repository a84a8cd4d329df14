#!/usr/bin/env bash
# Demo: install dependencies, build shardhose, start kinesis-local and s3rver
# on free ports, produce a few thousand DynamoDB change records to a 4-shard
# stream, drain them with `shardhose run --drain`, print the object tree and
# a few decoded lines, stop the emulators.
#   JOBS=N    build parallelism (default: nproc, at most 2)
#   extra arguments go to tests/e2e/demo.py (--records N, --keep)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JOBS="${JOBS:-$(nproc)}"
if [ "$JOBS" -gt 2 ]; then JOBS=2; fi

bash scripts/install-deps.sh
log="$(mktemp)"
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
       cmake --build build -j"$JOBS" --target shardhose; } >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; echo "demo.sh: build failed" >&2; exit 1
fi
rm -f "$log"

SHARDHOSE_BIN="$ROOT/build/daemon/shardhose" exec python3 tests/e2e/demo.py "$@"
