#!/usr/bin/env bash
# Runs one libFuzzer target for longer than the CI run.
#
#   tests/fuzz/run.sh <target> [seconds]     (default 600 seconds)
#   tests/fuzz/run.sh list
#
# Targets: decode_fuzz template_fuzz config_fuzz checkpoint_fuzz
# get_records_fuzz streams_records_fuzz export_lines_fuzz. Builds build-fuzz first if needed (scripts/sanitize.sh
# fuzz configures it). New corpus entries go to build-fuzz/tests/fuzz/corpus/<target>
# (not committed); a crash, leak or timeout stops the run, is saved to
# build-fuzz/tests/fuzz/artifacts/<target>/ and makes the exit status non-zero.
# Extra libFuzzer flags: FUZZ_ARGS="-jobs=2 -workers=2" (default one process).
#   BUILD_DIR=dir  the fuzz build (default build-fuzz)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGETS=(decode_fuzz template_fuzz config_fuzz checkpoint_fuzz get_records_fuzz streams_records_fuzz export_lines_fuzz)
BUILD="${BUILD_DIR:-build-fuzz}"

target="${1:-}"
seconds="${2:-600}"
if [ -z "$target" ] || [ "$target" = list ] || [ "$target" = -h ] || [ "$target" = --help ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  [ -n "$target" ] && exit 0 || exit 2
fi
case " ${TARGETS[*]} " in
  *" $target "*) ;;
  *) echo "run.sh: unknown target '$target' (one of: ${TARGETS[*]})" >&2; exit 2 ;;
esac

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  bash scripts/sanitize.sh fuzz-configure
fi
cmake --build "$BUILD" -j2 --target "$target"

bin="$BUILD/tests/fuzz/$target"
work="$BUILD/tests/fuzz/corpus/$target"
artifacts="$BUILD/tests/fuzz/artifacts/$target"
mkdir -p "$work" "$artifacts"
case "$target" in
  template_fuzz) dict=template.dict; max_len=4096 ;;
  config_fuzz) dict=toml.dict; max_len=16384 ;;
  checkpoint_fuzz) dict=json.dict; max_len=16384 ;;
  *) dict=json.dict; max_len=65536 ;;
esac

export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# shellcheck disable=SC2086
exec "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
  -print_final_stats=1 -artifact_prefix="$artifacts/" -dict="tests/fuzz/dict/$dict" \
  ${FUZZ_ARGS:-} "$work" "tests/fuzz/corpus/$target"
