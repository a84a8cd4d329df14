#!/usr/bin/env bash
# The local emulators for trying shardhose by hand: kinesis-local and s3rver
# in the background, on the ports config/local-emulators.toml names.
#   scripts/emulators.sh start    start them; prints endpoints, credentials
#                                 and the command to run
#   scripts/emulators.sh stop     stop them
#   scripts/emulators.sh status
# KINESIS_PORT / S3_PORT choose other ports; state (pids, logs, s3rver's
# data) lives in EMULATORS_DIR (default .emulators/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = start ] && { [ ! -e "$ROOT/tests/emulators/node_modules/s3rver" ] || ! command -v node >/dev/null; }; then
  echo "emulators.sh: installing the emulators first (scripts/install-deps.sh)" >&2
  bash "$ROOT/scripts/install-deps.sh"
fi
exec python3 "$ROOT/tests/e2e/emulators_cli.py" "$@"
