#!/usr/bin/env bash
# The compiler launcher of scripts/sanitize.sh's tsa stage
# (CMAKE_CXX_COMPILER_LAUNCHER): tsa-compile.sh [ccache] clang++ <args...>.
# Runs the command unchanged, except for the few sources that clang 14
# cannot compile (listed below, each with its reason): those are compiled
# by g++, without the clang-only flags, so that everything else, including
# the targets that link them, is still compiled by clang and linked. The
# main build (gcc -Werror) checks those sources anyway. Drop an entry as
# soon as its source compiles with clang 14; a source moved elsewhere fails
# the stage under clang again, which is the point.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

GCC_SOURCES=(
  # :418, `[&](const PartitionColumn& c) { return c.name == name; }` where
  # `name` is a structured binding (for (const auto& [name, values] : ...)):
  # capturing one is C++20 (P1091R3, P1381R1), in clang only from 16 on;
  # clang 14: "error: reference to local binding 'name' declared in
  # enclosing function".
  lib/athena/ddl.cc
)

gcc=0
for arg in "$@"; do
  for src in "${GCC_SOURCES[@]}"; do
    if [ "$arg" = "$ROOT/$src" ]; then gcc=1; fi
  done
done
if [ "$gcc" = 0 ]; then exec "$@"; fi

args=()
for arg in "$@"; do
  case "$arg" in
    clang++ | */clang++ | clang++-* | */clang++-*) args+=(g++) ;;
    -Wthread-safety* | -Wno-ambiguous-reversed-operator) ;;
    *) args+=("$arg") ;;
  esac
done
echo "tsa-compile.sh: ${args[-1]}: compiled by g++, not clang 14 (see scripts/tsa-compile.sh)" >&2
exec "${args[@]}"
