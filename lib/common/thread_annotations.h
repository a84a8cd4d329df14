// File: common/thread_annotations.h
//
// Clang's thread-safety analysis (-Wthread-safety), spelled as macros so
// that gcc, which has no such analysis, compiles the same code. The CI's
// `tsa` stage (scripts/sanitize.sh) builds everything with clang and
// -Wthread-safety -Werror, so a member read without its mutex, or a
// function called without the lock it REQUIRES, does not build.
//
//   Mutex mu_;
//   int n_ GUARDED_BY(mu_);          // read or written only with mu_ held
//   void Bump() REQUIRES(mu_);       // the caller holds mu_
//   void Poll() EXCLUDES(mu_);       // the caller must not hold mu_
//
// The vocabulary is abseil's (absl/base/thread_annotations.h) and
// clang's documentation's.
#pragma once

#if defined(__clang__)
#define SHARDHOSE_TSA(x) __attribute__((x))
#else
#define SHARDHOSE_TSA(x)
#endif

#define CAPABILITY(x) SHARDHOSE_TSA(capability(x))
#define SCOPED_CAPABILITY SHARDHOSE_TSA(scoped_lockable)
#define GUARDED_BY(x) SHARDHOSE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) SHARDHOSE_TSA(pt_guarded_by(x))
#define REQUIRES(...) SHARDHOSE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) SHARDHOSE_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) SHARDHOSE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SHARDHOSE_TSA(release_capability(__VA_ARGS__))
#define RETURN_CAPABILITY(x) SHARDHOSE_TSA(lock_returned(x))
#define ASSERT_CAPABILITY(...) SHARDHOSE_TSA(assert_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS SHARDHOSE_TSA(no_thread_safety_analysis)
