// File: common/kill_point.h
//
// Deterministic crash points for tests, in the spirit of RocksDB's
// TEST_KILL_RANDOM. Compiled in only when CMake's SHARDHOSE_KILL_POINTS is
// ON (the test build); otherwise SHARDHOSE_KILL_POINT() is nothing.
//
// With kill points compiled in, the environment variable
//   SHARDHOSE_KILL_AT=<name>[:<n>]
// makes the n-th (default 1st) pass through the point <name> send SIGKILL to
// the process: no destructor, no flush, no checkpoint — a crash at exactly
// that instant. Names in use: see `grep -r SHARDHOSE_KILL_POINT lib`.
#pragma once

#ifdef SHARDHOSE_KILL_POINTS
namespace shardhose {
void KillPoint(const char* name);
}  // namespace shardhose
#define SHARDHOSE_KILL_POINT(name) ::shardhose::KillPoint(name)
#else
#define SHARDHOSE_KILL_POINT(name) \
  do {                             \
  } while (0)
#endif
